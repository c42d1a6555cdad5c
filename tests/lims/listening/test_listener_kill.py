"""Crash safety: SIGKILL the `lims listen` process mid-message, restart it; a journal ahead of the
database is caught up. Nothing lost, nothing stored twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import Session, delete, func, select

from instruments.profiles import ProfileSimulator, load_profile
from lims.listening import journal as jr
from lims.models import ListenerOffset, QuarantineItem, TestResult
from tests.conftest import TZ
from tests.lims.listening.listener_helpers import (
    Pty,
    add_instrument,
    pump,
    running_listener,
    wait_for,
)

SN = "KJ12-0001"
LIMS = str(Path(sys.executable).parent / "lims")


def _count(engine, model=TestResult) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _rx(var: Path) -> bytes:
    return b"".join(e.data for e in jr.read(var / "journal", SN) if e.kind == "RX")


def _start(env, port: str, log: Path) -> subprocess.Popen:
    fh = open(log, "w")  # noqa: SIM115 - closed with the process
    p = subprocess.Popen([LIMS, "listen", "--instrument", SN, "--port", port], env=env,
                         stdout=fh, stderr=subprocess.STDOUT)
    wait_for(lambda: f"port {port} open" in log.read_text() or p.poll() is not None, 60)
    assert p.poll() is None, log.read_text()
    return p


def test_sigkill_mid_message_then_restart(env_db, sqlite_engine, tmp_path):
    var = tmp_path / "var"
    add_instrument(sqlite_engine, SN)
    env = {**os.environ, "LIMS_DATABASE_URL": env_db, "LIMS_VAR_DIR": str(var)}
    env.pop("LIMS_USER", None)
    pty = Pty()
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=6, interval=0.05, seed=9,
                           byte_time=0.002)
    written = bytearray()

    def drive(until):
        deadline = time.monotonic() + 60
        while not until():
            assert time.monotonic() < deadline, "simulator stalled"
            out = sim.poll(time.monotonic())
            if out:
                os.write(pty.master, out)
                written.extend(out)
            time.sleep(0.001)

    first = _start(env, pty.path, tmp_path / "listen1.log")
    try:
        drive(lambda: len(sim.sent) >= 3 and len(written) >= sum(
            len(m.wire) for m in sim.sent[:2]) + 40)
        wait_for(lambda: len(_rx(var)) == len(written))        # journalled, not yet complete
        first.send_signal(signal.SIGKILL)
        first.wait(20)
        stored_before = _count(sqlite_engine)
        assert stored_before == 2
        second = _start(env, pty.path, tmp_path / "listen2.log")
        try:
            drive(lambda: sim.done)
            wait_for(lambda: _count(sqlite_engine) >= 6, 60)
            time.sleep(0.5)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
        pty.close()
    assert _rx(var) == bytes(written) == b"".join(m.wire for m in sim.sent)
    with Session(sqlite_engine) as s:
        rows = s.exec(select(TestResult).order_by(TestResult.id)).all()
    assert [(r.channel, r.raw["control_delta"], r.raw["sample_delta"]) for r in rows] == [
        (str(m.record["channel"]), m.record["control_delta"], m.record["sample_delta"])
        for m in sim.sent]
    assert _count(sqlite_engine, QuarantineItem) == 0
    log2 = (tmp_path / "listen2.log").read_text()
    assert "caught up" in log2 and "stopped: 4 result(s)" in log2


def test_journal_ahead_of_the_database_is_caught_up_once(sqlite_engine, tmp_path):
    var = tmp_path / "var"
    add_instrument(sqlite_engine, SN)
    prof = load_profile("enzyme-12ch")
    pty = Pty()
    try:
        with running_listener(sqlite_engine, SN, pty.path, var) as lst:
            pump(ProfileSimulator(prof, count=3, interval=0.05, faults=("corrupt",), seed=5),
                 pty.master)
            wait_for(lambda: lst.proc.tally.results == 2 and lst.proc.tally.quarantined == 1)
        # a crash after journalling and before storing: bytes in the journal only
        late = ProfileSimulator(prof, count=2, interval=0.0, seed=6,
                                start=__import__("datetime").datetime(2026, 5, 8, 10))
        t = 0.0
        j = jr.Journal(var / "journal", SN)
        while not late.done:
            data = late.poll(t)
            if data:
                half = len(data) // 2
                j.append("RX", data[:half])            # a message split over two chunks
                j.append("RX", data[half:])
            t += 1.0
        j.close()
        with running_listener(sqlite_engine, SN, pty.path, var):
            wait_for(lambda: _count(sqlite_engine) == 4)
        # losing the offset entirely: everything is re-read, nothing stored twice
        with Session(sqlite_engine) as s:
            s.exec(delete(ListenerOffset))
            s.commit()
        with running_listener(sqlite_engine, SN, pty.path, var) as lst:
            wait_for(lambda: lst.proc.tally.duplicates == 4)
            assert lst.proc.tally.results == 0
    finally:
        pty.close()
    assert _count(sqlite_engine) == 4 and _count(sqlite_engine, QuarantineItem) == 1


def test_resume_point_is_exact_inside_a_chunk(sqlite_engine, tmp_path):
    """A chunk holding the end of one message and the start of the next: the offset points
    into the chunk, so the restart re-reads neither the finished message nor loses the next."""
    from lims.listening.port import Listener


    var = tmp_path / "var"
    add_instrument(sqlite_engine, SN)
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=3, interval=0.0, seed=8)
    t, msgs = 0.0, []
    while not sim.done:
        if data := sim.poll(t):
            msgs.append(data)
        t += 1.0
    m1, m2, m3 = (m.data for m in sim.sent)
    j = jr.Journal(var / "journal", SN)
    j.append("RX", m1 + m2[:30])
    j.close()

    def listener():
        return Listener(engine=sqlite_engine, serial_no=SN, port="loop://",
                        journal_root=var / "journal", tz=TZ)

    first = listener()
    first.catch_up()
    with Session(sqlite_engine) as s:
        off = s.get(ListenerOffset, SN)
    assert (off.skip, off.line_offset, off.stream_pos) == (len(m1), 0, 0)
    assert first.proc.tally.results == 1
    j = jr.Journal(var / "journal", SN)
    j.append("RX", m2[30:] + m3)
    j.close()
    second = listener()
    second.catch_up()
    assert (second.proc.tally.results, second.proc.tally.duplicates) == (2, 0)
    assert _count(sqlite_engine) == 3 and _count(sqlite_engine, QuarantineItem) == 0
