"""Listener heartbeats: is each instrument's listener running, silent since when, or never seen?

A running ``Listener`` writes one ``ListenerHeartbeat`` row per instrument every ``INTERVAL``
seconds from a thread of its own (``HeartbeatThread``), and only while its port loop is turning,
so a listener that hangs falls silent too. Writing it never blocks the port loop: a busy database
or a running restore only delays a beat. ``listener_status`` reads them for the app: ``running``
(a beat within ``threshold`` seconds of ``at``), ``silent`` (with the time of the last beat) or
``never`` (no listener has run for that instrument).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import LimsError
from lims.models import Instrument, ListenerHeartbeat
from lims.timeutil import now as app_now

log = logging.getLogger("lims.listener")

#: Seconds between two heartbeats of a running listener.
INTERVAL = 10.0
#: A listener whose last heartbeat is older than this is shown as silent (3 missed beats).
THRESHOLD = 3 * INTERVAL


def beat(*, session: Session, serial: str, at: datetime, started_at: datetime,
         pid: int | None = None, host: str | None = None) -> None:
    """Record that the listener of ``serial`` is alive at ``at`` (the caller commits)."""
    row = session.get(ListenerHeartbeat, serial)
    if row is None:
        row = ListenerHeartbeat(instrument_serial=serial, started_at=started_at, beat_at=at)
    row.started_at, row.beat_at = started_at, at
    row.pid = os.getpid() if pid is None else pid
    row.host = (socket.gethostname() if host is None else host)[:200]
    session.add(row)


def listener_status(*, session: Session, at: datetime,
                    threshold: float = THRESHOLD) -> dict[str, dict]:
    """Per instrument serial (every instrument, active or not): ``state`` running / silent /
    never, ``since`` (the last beat, None for never) and ``started_at``."""
    beats = {h.instrument_serial: h for h in session.exec(select(ListenerHeartbeat))}
    out: dict[str, dict] = {}
    for serial in session.exec(select(Instrument.serial_no).order_by(Instrument.serial_no)):
        h = beats.get(serial)
        if h is None:
            out[serial] = {"state": "never", "since": None, "started_at": None}
            continue
        fresh = at - h.beat_at <= timedelta(seconds=threshold)
        out[serial] = {"state": "running" if fresh else "silent", "since": h.beat_at,
                       "started_at": h.started_at}
    return out


class HeartbeatThread(threading.Thread):
    """Beats for ``serial`` every ``interval`` seconds while ``alive()`` is true, until ``stop``."""

    def __init__(self, engine: sa.Engine, serial: str, stop: threading.Event, *,
                 alive: Callable[[], bool] = lambda: True, interval: float = INTERVAL,
                 clock: Callable[[], datetime] = app_now):
        super().__init__(name=f"heartbeat-{serial}", daemon=True)
        self.engine, self.serial, self.stop_event = engine, serial, stop
        self.alive, self.interval, self.clock = alive, interval, clock
        self.started_at = clock()
        self.beats = 0
        self._warned = False

    def beat_once(self) -> bool:
        try:
            with Session(self.engine) as s:
                beat(session=s, serial=self.serial, at=self.clock(), started_at=self.started_at)
                s.commit()
        except (sa.exc.SQLAlchemyError, LimsError) as exc:   # busy, restoring: beat later
            if not self._warned:
                log.warning("%s: heartbeat not written (%s); retrying", self.serial, exc)
                self._warned = True
            return False
        self.beats += 1
        self._warned = False
        return True

    def run(self) -> None:
        while not self.stop_event.is_set():
            start = time.monotonic()
            if self.alive():
                self.beat_once()
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - start)))
