"""A daily QC run that Westgard rejects holds that instrument's results of the day until a
technician reviews them: those stored before the run and those that come after (issue 16)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from lims.intake import review, rollups
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.metrology import calibration as cal
from lims.models import Instrument, Market, TestResult
from lims.models.enums import Role
from lims.security.auth import Actor
from tests.conftest import TZ
from tests.lims.metrology.calibration_data import ANALYZER

T0 = datetime(2026, 5, 6, 9, 0, tzinfo=TZ)
TECH = Actor("wang.tech", Role.LAB_TECHNICIAN)
SD = 0.0149071   # sample SD of the baseline below (mean 0.50)


@pytest.fixture
def analyzer(session):
    m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
    session.add(m)
    session.flush()
    session.add(Instrument(serial_no="AN-1", model="RP-12", kind="pesticide_analyzer",
                           driver="profile", market_id=m.id, calibration_interval_days=365))
    session.commit()
    cal.record(session=session, actor=TECH, serial_no="AN-1", kind="calibration",
               readings=ANALYZER, performed_at=T0 - timedelta(days=10))
    cal.add_qc_values(session=session, actor=TECH, serial_no="AN-1", baseline=True,
                      values=[(T0 - timedelta(days=30 - i), v) for i, v in enumerate(
                          [0.50, 0.52, 0.48, 0.51, 0.49, 0.50, 0.52, 0.48, 0.51, 0.49])])
    session.commit()
    return session


def reading(session, at: datetime) -> TestResult:
    stored = accept_readings(session=session, actor=TECH, readings=[ReadingIn(
        method="ENZ-5009.199", tested_at=at, market="M1", commodity="菠菜",
        instrument_serial="AN-1", raw={"control_delta": 0.5, "sample_delta": 0.45})]).stored[0]
    session.commit()
    return session.get(TestResult, stored.result_id)


def test_a_rejected_qc_run_holds_the_days_results(analyzer):
    s = analyzer
    high = round(0.50 + 2.5 * SD, 4)
    day1 = cal.record(session=s, actor=TECH, serial_no="AN-1", kind="daily_qc",
                      performed_at=T0 + timedelta(days=1), readings={"control_delta": high})
    assert day1.outcome == "pass"        # 1-2s only warns
    s.commit()
    before = reading(s, T0 + timedelta(days=2, hours=-1))     # 08:00, before the QC run
    assert before.status == "recorded"
    day2 = cal.record(session=s, actor=TECH, serial_no="AN-1", kind="daily_qc",
                      performed_at=T0 + timedelta(days=2), readings={"control_delta": high})
    s.commit()
    assert day2.outcome == "fail"        # 2-2s rejects the run
    s.refresh(before)
    assert before.status == "held" and "当日质控失控" in before.verdict_reasons[-1]
    after = reading(s, T0 + timedelta(days=2, hours=3))       # 12:00 the same day
    assert after.status == "held" and "was rejected (Westgard)" in after.verdict_reasons[-1]
    next_day = reading(s, T0 + timedelta(days=3))
    assert next_day.status == "recorded"
    assert rollups.check(session=s) == []

    review.accept(session=s, actor=TECH, result_id=after.id,
                  reason="control re-run in range at 12:30; results sound")
    s.commit()
    assert s.get(TestResult, after.id).status == "accepted"
    held = s.exec(select(TestResult).where(TestResult.status == "held")).all()
    assert [r.id for r in held] == [before.id]
    assert rollups.check(session=s) == []


def test_a_rejected_qc_run_holds_a_staged_imports_results_of_the_day(analyzer):
    """A file import still storing its chunks (results staged, invisible) when the day's QC is
    rejected: its results of that day are published held, like the day's stored ones; the
    others as they were. Seals and rollups stay exact."""
    from lims.files.import_publish import follow_up_published, publish
    from lims.models import ImportStage
    from lims.security import seals
    from lims.security.auth import SYSTEM

    s = analyzer
    sha = "c" * 64
    day2 = T0 + timedelta(days=2)

    def staged(at: datetime, delta: float, code: str) -> ReadingIn:
        return ReadingIn(method="ENZ-5009.199", tested_at=at, market="M1", commodity="菠菜",
                         instrument_serial="AN-1", sample_code=code, source="import",
                         raw={"control_delta": 0.5, "sample_delta": delta})
    # one sample read twice that day (the later reading is counted), one the next day
    rep = accept_readings(session=s, actor=SYSTEM, stage=sha, readings=[
        staged(day2 - timedelta(hours=2), 0.45, "IMPQC0001"),
        staged(day2 - timedelta(hours=1), 0.44, "IMPQC0001"),
        staged(day2 + timedelta(days=1), 0.45, "IMPQC0002")])
    s.commit()
    ids = [x.result_id for x in rep.stored]
    assert [s.get(TestResult, i).status for i in ids] == ["staged"] * 3
    high = round(0.50 + 2.5 * SD, 4)
    for d in (1, 2):   # 2-2s over two days rejects the second run
        run = cal.record(session=s, actor=TECH, serial_no="AN-1", kind="daily_qc",
                         performed_at=T0 + timedelta(days=d), readings={"control_delta": high})
        s.commit()
    assert run.outcome == "fail"
    waiting = dict(s.exec(select(ImportStage.result_id, ImportStage.status)).all())
    assert [waiting[i] for i in ids] == ["held", "held", "recorded"]
    assert [s.get(TestResult, i).status for i in ids] == ["staged"] * 3   # still invisible
    assert seals.verify(session=s).ok

    assert publish(session=s, actor=SYSTEM, import_sha=sha) == 3
    s.commit()
    follow_up_published(session=s, actor=SYSTEM)
    s.commit()
    s.expire_all()
    got = [s.get(TestResult, i) for i in ids]
    assert [r.status for r in got] == ["held", "held", "recorded"]
    assert "当日质控失控" in got[0].verdict_reasons[-1] and "当日质控失控" in got[1].verdict_reasons[-1]
    assert [r.counts for r in got] == [False, False, True]   # a held sample counts nowhere
    assert rollups.check(session=s) == []
    report = seals.verify(session=s)
    assert report.ok, report.problems
