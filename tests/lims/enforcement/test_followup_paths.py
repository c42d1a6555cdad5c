"""Positives that arrive on a serial port or in an imported file open their case and raise an
alert at once, like a result typed in at the stand."""

from __future__ import annotations

from sqlmodel import Session, select

from instruments.profiles import ProfileSimulator, load_profile
from lims.files.results_import import import_results
from lims.models import Alert, EnforcementCase, TestResult
from lims.security.auth import SYSTEM
from tests.lims.listening.listener_helpers import (
    Pty,
    add_instrument,
    pump,
    running_listener,
    wait_for,
)

SN = "KJ12-0042"


def _follow_state(engine):
    with Session(engine) as s:
        results = list(s.exec(select(TestResult).order_by(TestResult.id)))
        alerts = {a.result_id for a in s.exec(select(Alert))}
        cases = {c.result_id for c in s.exec(select(EnforcementCase))}
    return results, alerts, cases


def test_listener_positive_opens_case_and_alert(sqlite_engine, tmp_path):
    add_instrument(sqlite_engine, SN)
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=12, interval=0.05, seed=5,
                           serial=SN)
    pty = Pty()
    try:
        with running_listener(sqlite_engine, SN, pty.path, tmp_path / "var") as lst:
            pump(sim, pty.master)
            wait_for(lambda: lst.proc.tally.results == 12)
    finally:
        pty.close()
    results, alerts, cases = _follow_state(sqlite_engine)
    flagged = {r.id for r in results if r.verdict in ("positive", "suspicious")}
    positives = {r.id for r in results if r.verdict == "positive"}
    assert positives, "the seeded run must contain a positive for this test to mean anything"
    assert alerts == flagged
    assert cases == positives


def test_imported_positive_opens_case_and_alert(sqlite_engine, tmp_path):
    add_instrument(sqlite_engine, SN)  # creates market M-EAST
    f = tmp_path / "in.csv"
    f.write_text(
        "market,commodity,method,tested_at,control_delta,sample_delta\n"
        "M-EAST,小白菜,ENZ-5009.199,2026-05-06T09:30:00,0.40,0.10\n"   # 75 % → positive
        "M-EAST,菠菜,ENZ-5009.199,2026-05-06T09:35:00,0.40,0.35\n",    # 12.5 % → negative
        encoding="utf-8")
    with Session(sqlite_engine) as s:
        import_results(session=s, actor=SYSTEM, path=f)
        s.commit()
    results, alerts, cases = _follow_state(sqlite_engine)
    pos = [r.id for r in results if r.verdict == "positive"]
    assert len(results) == 2 and len(pos) == 1
    assert alerts == set(pos) and cases == set(pos)
