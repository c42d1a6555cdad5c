"""The calibration gate end to end: an overdue analyzer's positive is held, kept out of the
market's pass rate, then accepted (counted) or voided (never counted), with audit events."""

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from lims.errors import LimsError, PermissionDenied, ValidationFailed
from lims.intake import review
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import AuditEvent, CalibrationRecord, Instrument, Market, TestResult
from lims.models.enums import Role
from lims.reporting import stats
from lims.security.auth import SYSTEM, Actor
from tests.conftest import TZ

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)   # a Wednesday; week starts 2026-05-04
TECH = Actor("wang.tech", Role.LAB_TECHNICIAN)


@pytest.fixture
def world(session):
    session.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
    ok = Instrument(serial_no="SN-OK", model="RP-12", kind="pesticide_analyzer", driver="profile")
    late = Instrument(serial_no="SN-LATE", model="RP-12", kind="pesticide_analyzer",
                      driver="profile")
    never = Instrument(serial_no="SN-NEW", model="RP-12", kind="pesticide_analyzer",
                       driver="profile")
    session.add_all([ok, late, never])
    session.flush()
    session.add(CalibrationRecord(instrument_id=ok.id, kind="verification",
                                  performed_at=T0 - timedelta(days=30), performed_by="tech",
                                  outcome="pass", due_date=date(2027, 4, 6)))
    session.add(CalibrationRecord(instrument_id=late.id, kind="verification",
                                  performed_at=T0 - timedelta(days=400), performed_by="tech",
                                  outcome="pass", due_date=date(2026, 4, 6)))
    session.commit()
    return session


def reading(serial, a0, at, key):
    return ReadingIn(method="ENZ-5009.199", raw={"control_delta": a0, "sample_delta": at},
                     tested_at=T0, market="M1", commodity="小白菜", instrument_serial=serial,
                     ingest_key=key)


def week_row(session):
    rows = stats.pass_rate_by_market_week(session=session, filters=stats.TrendFilter())
    (row,) = [r for r in rows if r["week_start"] == date(2026, 5, 4)]
    return row


def test_overdue_positive_is_held_excluded_then_accepted(world):
    s = world
    rep = accept_readings(session=s, actor=SYSTEM, readings=[reading("SN-OK", 0.35, 0.30, "a"),     # negative
                                      reading("SN-OK", 0.35, 0.31, "b"),     # negative
                                      reading("SN-LATE", 0.35, 0.10, "c"),   # positive, held
                                      reading("SN-NEW", 0.35, 0.05, "d")])   # positive, held
    s.commit()
    held_pos = rep.stored[2]
    assert held_pos.status == "held" and held_pos.calibration_state == "overdue"
    assert held_pos.verdict.outcome.value == "positive"
    assert rep.stored[3].status == "held" and rep.stored[3].calibration_state == "unknown"

    row = week_row(s)
    assert (row["tested"], row["passed"], row["failed"]) == (2, 2, 0)
    assert row["pass_rate"] == 1.0
    assert {h["id"] for h in review.held(session=s)} == {held_pos.result_id,
                                                         rep.stored[3].result_id}
    assert [h["serial_no"] for h in review.held(session=s, instrument_serial="SN-LATE")] == [
        "SN-LATE"]

    review.accept(session=s, actor=TECH, result_id=held_pos.result_id,
                  reason="intermediate check on 2026-05-06 passed; reading confirmed")
    s.commit()
    row = week_row(s)
    assert (row["tested"], row["passed"], row["failed"]) == (3, 2, 1)
    assert row["pass_rate"] == pytest.approx(2 / 3)
    tr = s.get(TestResult, held_pos.result_id)
    assert tr.status == "accepted" and tr.calibration_state == "overdue"

    review.void(session=s, actor=TECH, result_id=rep.stored[3].result_id,
                reason="instrument never verified")
    s.commit()
    row = week_row(s)
    assert (row["tested"], row["passed"], row["failed"]) == (3, 2, 1)   # voided: never counted
    assert s.get(TestResult, rep.stored[3].result_id).status == "voided"
    assert review.held(session=s) == []

    events = s.exec(select(AuditEvent).where(AuditEvent.entity == "test_result")
                    .order_by(AuditEvent.id)).all()
    assert [(e.action, e.entity_id, e.actor) for e in events] == [
        ("result.accept", str(held_pos.result_id), "wang.tech"),
        ("result.void", str(rep.stored[3].result_id), "wang.tech")]
    assert events[0].old["status"] == "held" and events[0].new == {"status": "accepted"}
    assert events[1].reason == "instrument never verified"


def test_review_needs_reason_permission_and_a_held_result(world):
    s = world
    rep = accept_readings(session=s, actor=SYSTEM, readings=[reading("SN-LATE", 0.35, 0.10, "x"),
                                      reading("SN-OK", 0.35, 0.30, "y")])
    s.commit()
    rid, ok_id = rep.stored[0].result_id, rep.stored[1].result_id
    with pytest.raises(ValidationFailed, match="reason"):
        review.void(session=s, actor=TECH, result_id=rid, reason="  ")
    with pytest.raises(PermissionDenied):
        review.accept(session=s, actor=Actor("li.field", Role.FIELD_TESTER), result_id=rid,
                      reason="looks fine")
    with pytest.raises(LimsError, match="not held"):
        review.accept(session=s, actor=TECH, result_id=ok_id, reason="x")
    with pytest.raises(LimsError, match="no test result"):
        review.accept(session=s, actor=TECH, result_id=999999, reason="x")
    s.rollback()
    assert s.get(TestResult, rid).status == "held"
    assert s.exec(select(AuditEvent).where(AuditEvent.entity == "test_result")).all() == []
