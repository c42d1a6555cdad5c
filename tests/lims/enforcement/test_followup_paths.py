"""Positives that arrive on a serial port or in an imported file are followed up like a result
typed in at the stand: suspicious ones raise their alert at once; an enzyme positive waits for its
two re-tests (GB/T 5009.199), and when they confirm it its case opens and its alert is raised."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from instruments.profiles import ProfileSimulator, load_profile
from lims.files.results_import import import_results
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Alert, EnforcementCase, Sample, TestResult
from lims.security.auth import SYSTEM
from tests.lims.intake.test_one_pipeline import calibrate
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
    calibrate(sqlite_engine, SN)   # a held result would wait for review
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
    suspicious = {r.id for r in results if r.verdict == "suspicious"}
    positives = [r for r in results if r.verdict == "positive"]
    assert positives, "the seeded run must contain a positive for this test to mean anything"
    assert alerts == suspicious and cases == set()   # positives wait for their re-tests
    _confirm(sqlite_engine, positives[0])
    results, alerts, cases = _follow_state(sqlite_engine)
    assert alerts == suspicious | {positives[0].id} and cases == {positives[0].id}


def _confirm(engine, screen: TestResult) -> None:
    """Two positive re-tests of the screen's sample (typed in), as the standard asks."""
    with Session(engine) as s:
        code = s.get(Sample, screen.sample_id).code
        accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", raw={"control_delta": 0.40, "sample_delta": 0.10},
            tested_at=screen.tested_at + timedelta(minutes=20 * k), sample_code=code)
            for k in (1, 2)])
        s.commit()


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
    pos = [r for r in results if r.verdict == "positive"]
    assert len(results) == 2 and len(pos) == 1
    assert alerts == set() and cases == set()
    # the re-tests arrive in a second file, by sample code
    with Session(sqlite_engine) as s:
        code = s.get(Sample, pos[0].sample_id).code
    f.write_text(
        "sample_code,method,tested_at,control_delta,sample_delta\n"
        f"{code},ENZ-5009.199,2026-05-06T09:50:00,0.40,0.12\n"
        f"{code},ENZ-5009.199,2026-05-06T10:10:00,0.40,0.11\n", encoding="utf-8")
    with Session(sqlite_engine) as s:
        import_results(session=s, actor=SYSTEM, path=f)
        s.commit()
    results, alerts, cases = _follow_state(sqlite_engine)
    assert len(results) == 4
    assert alerts == {pos[0].id} and cases == {pos[0].id}
