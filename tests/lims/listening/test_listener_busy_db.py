"""A listener never dies because the database is busy: another connection holds SQLite's write
lock (``BEGIN IMMEDIATE``) longer than the listener's busy timeout while readings arrive over a
real pty; the bytes are journalled and answered, storing retries with back-off, and once the lock
is released every reading is stored exactly once by the same, still running listener."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from instruments.profiles import ProfileSimulator, load_profile
from lims.listening import backlog
from lims.listening import journal as jr
from lims.models import ListenerOffset, TestResult
from lims.storage.engine import make_engine
from tests.lims.listening.listener_helpers import (
    Pty,
    add_instrument,
    pump,
    running_listener,
    wait_for,
)

BUSY_MS = 200   # the listener's busy timeout here (30 s in production)


def _short_busy_engine(url: str):
    eng = make_engine(url)

    @event.listens_for(eng, "connect")
    def _short(dbapi_conn, _record):   # runs after make_engine's own pragmas
        dbapi_conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")

    return eng


def _hear(sim, master: int) -> None:
    try:
        got = os.read(master, 4096)
    except (BlockingIOError, OSError):
        return
    if got:
        sim.receive(got, time.monotonic())


def _results(engine) -> list[TestResult]:
    with Session(engine) as s:
        return list(s.exec(select(TestResult).order_by(TestResult.id)))


@pytest.mark.parametrize("profile, serial, acks", [("enzyme-12ch", "KJ12-0001", False),
                                                   ("gold-reader", "GR-0001", True)])
def test_listener_survives_a_locked_database(sqlite_engine, tmp_path, profile, serial, acks):
    add_instrument(sqlite_engine, serial, profile)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    eng = _short_busy_engine(url)
    var = tmp_path / "var"
    pty = Pty()
    before, during, after = 2, 4, 2
    total = before + during + after
    sim = ProfileSimulator(load_profile(profile), count=total, interval=0.1, seed=5)
    sent = lambda: len(sim.sent)   # noqa: E731
    try:
        with running_listener(eng, serial, pty.path, var) as lst:
            pump(sim, pty.master, until=lambda: sent() == before)
            wait_for(lambda: lst.proc.tally.results == before)
            # another writer takes SQLite's write lock and keeps it past the busy timeout
            blocker = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            try:
                pump(sim, pty.master, until=lambda: sent() == before + during)
                locked_until = time.monotonic() + 3.0     # 15 × the busy timeout
                while time.monotonic() < locked_until:   # listen for replies, send nothing
                    _hear(sim, pty.master)
                    assert lst.thread.is_alive()
                    time.sleep(0.05)
                assert lst.proc.backlog and lst.proc.db_failures >= 2
                assert lst.proc.retry_delay <= backlog.RETRY_MAX
                # nothing stored meanwhile, every byte journalled (and answered)
                rx = b"".join(e.data for e in jr.read(var / "journal", serial) if e.kind == "RX")
                assert rx == b"".join(m.wire for m in sim.sent)
                if acks:
                    assert len(sim.received) == before + during
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            wait_for(lambda: len(_results(eng)) == before + during, timeout=20)
            assert lst.thread.is_alive() and not lst.proc.backlog
            pump(sim, pty.master, until=lambda: sim.done and len(_results(eng)) == total)
            assert lst.thread.is_alive()
    finally:
        pty.close()
        eng.dispose()
    rows = _results(sqlite_engine)
    assert len(rows) == total                                  # each reading exactly once
    keys = [(r.raw.get("t"), r.raw.get("c"), r.raw.get("control_delta"),
             r.raw.get("sample_delta"), r.tested_at) for r in rows]
    assert len(set(keys)) == total
    with Session(sqlite_engine) as s:
        assert s.get(ListenerOffset, serial) is not None
    if acks:
        assert len(sim.received) == total
