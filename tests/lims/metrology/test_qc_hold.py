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
