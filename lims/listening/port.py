"""``lims listen``: the port loop around a ``Processor``.

Opens the instrument's serial port (a device path or a pyserial URL: ``socket://``,
``rfc2217://``, ``loop://``) with the driver's documented line settings overridden by the
instrument's own, reads, hands every chunk to ``lims.listening.processor.Processor`` (which
journals, decodes, answers through the port's write and stores), lets decoder timeouts fire when
the line is quiet, reopens the port when it disappears and stops when ``stop`` is set.

A busy or unreachable database does not end the loop: the processor keeps journalling and
answering, and stores again with back-off (``Processor.backlog``; the quiet-line ``idle`` calls
every 50 ms are when it retries), catching up from the journal once the database answers.

While the loop turns, a heartbeat thread (``lims.listening.heartbeat``) records every few seconds
that the listener is alive, so the app can show a listener that is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import serial
import sqlalchemy as sa
from sqlmodel import Session

from instruments import registry
from instruments.base import PortSettings
from lims.listening.events import InstrumentContext, Outcome
from lims.listening.heartbeat import INTERVAL, HeartbeatThread
from lims.listening.processor import Processor, Tally
from lims.models import Instrument

log = logging.getLogger("lims.listener")


def port_settings(ctx: InstrumentContext, overrides: dict[str, Any] | None) -> PortSettings:
    """The driver's (or profile's) documented defaults, overridden by the instrument's settings."""
    if ctx.driver == "profile":
        from instruments.profiles import load_profile

        base = load_profile(ctx.profile_path or "").port_settings()
    else:
        base = registry.get(ctx.driver).defaults
    return base.with_overrides(overrides)


class Listener:
    """One instrument on one port, until ``stop`` is set."""

    def __init__(self, *, engine: sa.Engine, serial_no: str, port: str, journal_root: Path,
                 tz: ZoneInfo, profile_dirs: tuple[Path, ...] = (),
                 stop: threading.Event | None = None, reconnect_delay: float = 1.0,
                 on_store: Callable[[list[Outcome]], None] | None = None,
                 heartbeat_interval: float | None = INTERVAL):
        self.engine, self.port_url, self.tz = engine, port, tz
        self.heartbeat_interval = heartbeat_interval
        self._tick = time.monotonic()     # the loop's last turn (the heartbeat checks it)
        self.journal_root = Path(journal_root)
        self.stop = stop or threading.Event()
        self.reconnect_delay = reconnect_delay
        with Session(engine) as s:
            self.ctx = InstrumentContext.load(s, serial_no, profile_dirs)
            inst = s.get(Instrument, self.ctx.id)
            overrides = dict(inst.port_settings or {}) if inst else {}
        self.settings = port_settings(self.ctx, overrides)
        self.proc = Processor(engine, self.ctx, tz, journal_root=self.journal_root,
                              on_store=on_store)
        self.connected = threading.Event()

    def catch_up(self) -> int:
        """Feed journalled bytes not yet processed (what ``run`` does before it listens)."""
        return self.proc.catch_up()

    def _open(self) -> serial.SerialBase | None:
        warned = False
        while not self.stop.is_set():
            try:
                port = serial.serial_for_url(self.port_url, timeout=0.05,
                                             **self.settings.serial_kwargs())
                log.info("%s: port %s open (%s %s%s%s)", self.ctx.serial, self.port_url,
                         self.settings.baudrate, self.settings.bytesize, self.settings.parity,
                         self.settings.stopbits)
                return port
            except (serial.SerialException, OSError, ValueError) as exc:
                if not warned:
                    log.warning("%s: cannot open port %s (%s); retrying every %.1f s",
                                self.ctx.serial, self.port_url, exc, self.reconnect_delay)
                    warned = True
                self._tick = time.monotonic()
                self.stop.wait(self.reconnect_delay)
        return None

    def _pump(self, port: serial.SerialBase) -> None:
        def send(data: bytes) -> None:
            port.write(data)
            port.flush()

        self.connected.set()
        while not self.stop.is_set():
            self._tick = time.monotonic()
            data = port.read(max(1, port.in_waiting))
            if data and port.in_waiting:   # the rest of the message: one chunk, one commit
                data += port.read(port.in_waiting)
            if data:
                self.proc.receive(data, send)
            else:
                self.proc.idle(send)

    def run(self) -> Tally:
        self.proc.open()                  # journal lock, catch-up, START marker
        beats = self._start_heartbeat()
        try:
            log.info("%s: listening on %s (driver %s%s); journal %s", self.ctx.serial,
                     self.port_url, self.ctx.driver,
                     f", profile {self.ctx.profile}" if self.ctx.profile else "",
                     self.proc.journal.dir if self.proc.journal else self.journal_root)
            while not self.stop.is_set():
                port = self._open()
                if port is None:
                    break
                try:
                    self._pump(port)
                except (serial.SerialException, OSError) as exc:
                    log.warning("%s: port %s lost (%s); reconnecting", self.ctx.serial,
                                self.port_url, exc)
                finally:
                    self.connected.clear()
                    try:
                        port.close()
                    except (serial.SerialException, OSError):
                        pass
                if not self.stop.is_set():
                    self.stop.wait(self.reconnect_delay)
        finally:
            if beats is not None:
                beats.stop_event.set()
                beats.join(5)
            self.proc.close()
        return self.proc.tally

    def _start_heartbeat(self) -> HeartbeatThread | None:
        if not self.heartbeat_interval:
            return None
        limit = max(2 * self.heartbeat_interval, 5.0)
        beats = HeartbeatThread(self.engine, self.ctx.serial, threading.Event(),
                                alive=lambda: time.monotonic() - self._tick < limit,
                                interval=self.heartbeat_interval)
        beats.start()
        self.heartbeat = beats
        return beats
