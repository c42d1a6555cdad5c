"""`lims up --no-app`: simulated analyzers over pty pairs (instruments.nullmodem) feed the database until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
from sqlmodel import Session, func, select

from lims.models import Instrument, Market, TestResult
from tests.lims.listening.listener_helpers import wait_for

LIMS = str(Path(sys.executable).parent / "lims")


def test_up_feeds_the_database_and_stops_its_children(env_db, sqlite_engine, tmp_path):
    with Session(sqlite_engine) as s:
        s.add(Market(code="M-EAST", name="城东农贸市场", county="城关区", kind="farmers"))
        s.commit()
    env = {**os.environ, "LIMS_DATABASE_URL": env_db, "LIMS_VAR_DIR": str(tmp_path / "var")}
    log = tmp_path / "up.log"
    with open(log, "w") as fh:
        p = subprocess.Popen([LIMS, "up", "--no-app", "--interval", "0.5"], env=env, stdout=fh,
                             stderr=subprocess.STDOUT)
    try:
        def stored() -> int:
            with Session(sqlite_engine) as s:
                return s.exec(select(func.count()).select_from(TestResult)
                              .where(TestResult.source == "listener")).one()

        wait_for(lambda: stored() >= 3 or p.poll() is not None, 90)
        assert p.poll() is None, log.read_text()
        children = psutil.Process(p.pid).children(recursive=True)
        assert any("instruments.nullmodem" in " ".join(c.cmdline()) for c in children)
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(30)
    assert stored() >= 3
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
    with Session(sqlite_engine) as s:
        serials = set(s.exec(select(Instrument.serial_no).where(Instrument.driver == "profile")))
    assert {"SIM-ENZ-0001", "SIM-GOLD-0001"} <= serials
