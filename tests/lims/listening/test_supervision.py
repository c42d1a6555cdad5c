"""Supervision (issue 18): `lims up` restarts a listener that dies (kill -9) and readings carry on;
listeners write heartbeats, and a listener whose heartbeat is too old shows as silent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import psutil
from sqlmodel import Session, func, select

from lims.listening import heartbeat
from lims.listening.supervisor import Supervised
from lims.models import ListenerHeartbeat, Market, TestResult
from tests.conftest import PINNED_CLOCK
from tests.lims.listening.listener_helpers import Pty, add_instrument, running_listener, wait_for

LIMS = str(Path(sys.executable).parent / "lims")


def _listeners(pid: int) -> dict[str, int]:
    """serial → pid of the `lims listen` children of `lims up`."""
    out = {}
    for c in psutil.Process(pid).children(recursive=True):
        try:
            cmd = c.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "listen" in cmd and "--instrument" in cmd and c.status() != psutil.STATUS_ZOMBIE:
            out[cmd[cmd.index("--instrument") + 1]] = c.pid
    return out


def test_up_restarts_a_killed_listener_and_readings_continue(env_db, sqlite_engine, tmp_path):
    with Session(sqlite_engine) as s:
        s.add(Market(code="M-EAST", name="城东农贸市场", county="城关区", kind="farmers"))
        s.commit()
    env = {**os.environ, "LIMS_DATABASE_URL": env_db, "LIMS_VAR_DIR": str(tmp_path / "var")}
    log = tmp_path / "up.log"

    def stored() -> int:
        with Session(sqlite_engine) as s:
            return s.exec(select(func.count()).select_from(TestResult)
                          .where(TestResult.source == "listener")).one()

    with open(log, "w") as fh:
        p = subprocess.Popen([LIMS, "up", "--no-app", "--interval", "0.5"], env=env, stdout=fh,
                             stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: stored() >= 2 or p.poll() is not None, 240)
        assert p.poll() is None, log.read_text()
        before = _listeners(p.pid)
        assert "SIM-ENZ-0001" in before, before
        os.kill(before["SIM-ENZ-0001"], signal.SIGKILL)
        wait_for(lambda: "SIM-ENZ-0001: restarted" in log.read_text(), 120)
        after = _listeners(p.pid)
        assert after.get("SIM-ENZ-0001") not in (None, before["SIM-ENZ-0001"])
        n = stored()
        wait_for(lambda: stored() >= n + 3, 240)            # readings continue
        assert p.poll() is None, log.read_text()
        text = log.read_text()
        assert "lims listen SIM-ENZ-0001: exited with code -9" in text
        with Session(sqlite_engine) as s:
            beats = {h.instrument_serial for h in s.exec(select(ListenerHeartbeat))}
        assert {"SIM-ENZ-0001", "SIM-GOLD-0001"} <= beats
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(30)


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_supervised_restarts_with_back_off_and_stops_restarting_when_stopped():
    clock, said = _Clock(), []
    sup = Supervised([sys.executable, "-c", "import sys; sys.exit(3)"], name="flaky",
                     first_delay=1.0, max_delay=4.0, stable_after=60.0, report=said.append,
                     clock=clock).start()
    delays = []
    for _ in range(4):
        sup.proc.wait(30)
        assert sup.poll() is None                       # exited: restart scheduled
        delays.append(sup.restart_at - clock.t)
        clock.t = sup.restart_at
        assert sup.poll() is None                       # restarted
    assert delays == [1.0, 2.0, 4.0, 4.0]
    assert sup.restarts == 4
    assert said[0] == "flaky: exited with code 3 after 0.0 s; restarting in 1.0 s"
    assert any(m.startswith("flaky: restarted (pid ") for m in said)
    sup.proc.wait(30)
    clock.t += 100                                      # ran long enough: back-off starts afresh
    sup.started_at = clock.t - 61
    sup.poll()
    assert sup.restart_at - clock.t == 1.0
    sup.send_signal(signal.SIGTERM)
    clock.t += 10
    assert sup.poll() == 3 and sup.restarts == 4        # stopping: no restart


def test_heartbeat_status_running_silent_never(sqlite_engine):
    add_instrument(sqlite_engine, "KJ12-0001")
    add_instrument(sqlite_engine, "KJ12-0002")
    t0 = datetime.fromisoformat(PINNED_CLOCK)
    with Session(sqlite_engine) as s:
        heartbeat.beat(session=s, serial="KJ12-0001", at=t0, started_at=t0 - timedelta(hours=1))
        s.commit()
        st = heartbeat.listener_status(session=s, at=t0 + timedelta(seconds=20), threshold=30)
        assert st["KJ12-0001"]["state"] == "running"
        assert st["KJ12-0002"] == {"state": "never", "since": None, "started_at": None}
        st = heartbeat.listener_status(session=s, at=t0 + timedelta(seconds=31), threshold=30)
        assert st["KJ12-0001"]["state"] == "silent"
        assert st["KJ12-0001"]["since"] == t0


def test_a_running_listener_beats_and_stops_beating_when_it_stops(sqlite_engine, tmp_path):
    add_instrument(sqlite_engine, "KJ12-0001")
    pty = Pty()
    try:
        with running_listener(sqlite_engine, "KJ12-0001", pty.path, tmp_path / "var",
                              heartbeat_interval=0.2) as lst:
            wait_for(lambda: lst.heartbeat.beats >= 3)
            with Session(sqlite_engine) as s:
                row = s.get(ListenerHeartbeat, "KJ12-0001")
                assert row is not None and row.pid == os.getpid()
        assert not lst.heartbeat.is_alive()
    finally:
        pty.close()


def test_heartbeat_thread_beats_only_while_the_loop_turns(sqlite_engine):
    add_instrument(sqlite_engine, "KJ12-0001")
    alive = {"flag": False}
    stop = threading.Event()
    beats = heartbeat.HeartbeatThread(sqlite_engine, "KJ12-0001", stop, interval=0.05,
                                      alive=lambda: alive["flag"])
    beats.start()
    try:
        threading.Event().wait(0.3)
        assert beats.beats == 0                          # a hung loop does not beat
        alive["flag"] = True
        wait_for(lambda: beats.beats >= 2)
    finally:
        stop.set()
        beats.join(5)
