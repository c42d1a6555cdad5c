"""A listener while a restore holds the maintenance lock (issue 18): its writes are refused, so
it journals and answers, backs off and catches up once the lock is free — nothing quarantined,
nothing lost, nothing stored twice."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sqlmodel import Session, func, select

from instruments.profiles import ProfileSimulator, load_profile
from lims.models import QuarantineItem, TestResult
from lims.storage import maintenance
from tests.lims.listening.listener_helpers import (
    Pty,
    add_instrument,
    pump,
    running_listener,
    wait_for,
)

SN = "KJ12-0001"


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_listener_backs_off_while_a_restore_holds_the_lock(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(maintenance, "WAIT_SECONDS", 0.2)
    add_instrument(sqlite_engine, SN)
    db = Path(sqlite_engine.url.database).resolve()
    release = tmp_path / "release"
    pty = Pty()
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=6, interval=0.05, seed=3)
    try:
        with running_listener(sqlite_engine, SN, pty.path, tmp_path / "var",
                              heartbeat_interval=None) as lst:
            pump(sim, pty.master, until=lambda: len(sim.sent) == 2)
            wait_for(lambda: lst.proc.tally.results == 2)
            holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
                import time
                from pathlib import Path
                from lims.storage.maintenance import exclusive
                with exclusive(Path({str(db)!r})):
                    print("held", flush=True)
                    while not Path({str(release)!r}).exists():
                        time.sleep(0.05)
                """)], stdout=subprocess.PIPE, text=True)
            try:
                assert holder.stdout.readline().strip() == "held"
                pump(sim, pty.master, until=lambda: len(sim.sent) == 6)
                wait_for(lambda: lst.proc.backlog and lst.proc.db_failures >= 1)
                assert lst.thread.is_alive()
                assert lst.proc.tally.results == 2
            finally:
                release.touch()
                holder.wait(30)
            pump(sim, pty.master, timeout=30)
            wait_for(lambda: lst.proc.tally.results == 6 and not lst.proc.backlog, 60)
    finally:
        pty.close()
    assert _count(sqlite_engine, TestResult) == 6
    assert _count(sqlite_engine, QuarantineItem) == 0
