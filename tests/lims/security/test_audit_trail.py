"""The audit trail: corrections and voids with reasons, no deletes, a chain that shows tampering."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import LimsError, PermissionDenied
from lims.intake import rollups
from lims.intake.corrections import correct_result, void_result
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import AuditEvent, Market, TestResult, Vendor
from lims.models.enums import Role
from lims.security import audit
from lims.security.auth import SYSTEM, Actor
from tests.conftest import TZ

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)
TECH = Actor("tech1", Role.LAB_TECHNICIAN)
TESTER = Actor("field1", Role.FIELD_TESTER)
MANAGER = Actor("boss1", Role.MANAGER)


def _inhibition(a0: float, at: float) -> float:
    return (a0 - at) / a0 * 100


@pytest.fixture
def result_id(session) -> int:
    m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
    session.add(m)
    session.flush()
    session.add(Vendor(market_id=m.id, stall="A01", name="张三"))
    session.commit()
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": 0.30}, tested_at=T0,
        market="M1", vendor_stall="A01", commodity="小白菜")])
    session.commit()
    return rep.stored[0].result_id


def _tamper(session: Session, sql: str) -> None:
    """Change the table behind the guards' back (as someone with file or superuser access)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
    conn.exec_driver_sql(sql)
    session.commit()


def test_correction_rejudges_audits_and_refreshes_rollups(session, result_id):
    before = session.get(TestResult, result_id)
    assert before.verdict == "negative"
    assert rollups.check(session=session) == []
    correct_result(session=session, actor=TECH, result_id=result_id, raw={"sample_delta": 0.10},
                   reason="typed 0.30 for 0.10 on the field sheet")
    session.commit()
    tr = session.get(TestResult, result_id)
    assert tr.raw == {"control_delta": 0.35, "sample_delta": 0.10}
    assert tr.computed_value == pytest.approx(_inhibition(0.35, 0.10), abs=0.01)
    assert tr.verdict == "positive"
    assert any("typed 0.30 for 0.10" in r for r in tr.verdict_reasons)
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "result.correct")).one()
    assert ev.actor == "tech1" and ev.entity == "test_result" and ev.entity_id == str(result_id)
    assert ev.old["raw"]["sample_delta"] == 0.30 and ev.old["verdict"] == "negative"
    assert ev.new["raw"]["sample_delta"] == 0.10 and ev.new["verdict"] == "positive"
    assert ev.reason == "typed 0.30 for 0.10 on the field sheet"
    assert rollups.check(session=session) == []
    assert audit.verify(session=session).ok


@pytest.mark.parametrize("reason", ["", "   "])
def test_correction_and_void_need_a_reason(session, result_id, reason):
    with pytest.raises(ValueError, match="reason"):
        correct_result(session=session, actor=TECH, result_id=result_id,
                       raw={"sample_delta": 0.1}, reason=reason)
    with pytest.raises(ValueError, match="reason"):
        void_result(session=session, actor=TECH, result_id=result_id, reason=reason)
    session.rollback()
    assert session.get(TestResult, result_id).status == "recorded"


def test_correction_refuses_incomplete_or_unchanged_raw(session, result_id):
    with pytest.raises(ValueError, match="needs sample_delta"):
        correct_result(session=session, actor=TECH, result_id=result_id,
                       raw={"sample_delta": None}, reason="x")
    with pytest.raises(ValueError, match="nothing to correct"):
        correct_result(session=session, actor=TECH, result_id=result_id,
                       raw={"sample_delta": 0.30}, reason="x")


@pytest.mark.parametrize("actor", [TESTER, MANAGER])
def test_field_testers_and_managers_cannot_alter_or_void_results(session, result_id, actor):
    with pytest.raises(PermissionDenied):
        correct_result(session=session, actor=actor, result_id=result_id,
                       raw={"sample_delta": 0.1}, reason="x")
    with pytest.raises(PermissionDenied):
        void_result(session=session, actor=actor, result_id=result_id, reason="x")
    session.rollback()
    tr = session.get(TestResult, result_id)
    assert tr.status == "recorded" and tr.raw["sample_delta"] == 0.30
    assert session.exec(select(AuditEvent).where(AuditEvent.entity == "test_result")).first() is None


def test_void_keeps_the_result_and_takes_it_out_of_the_rollups(session, result_id):
    week = session.get(TestResult, result_id).week_start
    void_result(session=session, actor=TECH, result_id=result_id, reason="sample mislabelled")
    session.commit()
    tr = session.get(TestResult, result_id)
    assert tr.status == "voided"
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "result.void")).one()
    assert ev.old == {"status": "recorded"} and ev.new == {"status": "voided"}
    assert ev.reason == "sample mislabelled"
    assert rollups.check(session=session) == []
    n = session.connection().execute(sa.text(
        "SELECT count(*) FROM test_result WHERE week_start = :w AND status IN "
        "('recorded', 'accepted')"), {"w": week}).scalar()
    assert n == 0
    with pytest.raises(LimsError, match="voided"):
        void_result(session=session, actor=TECH, result_id=result_id, reason="again")
    with pytest.raises(LimsError, match="voided"):
        correct_result(session=session, actor=TECH, result_id=result_id,
                       raw={"sample_delta": 0.1}, reason="x")


def test_results_cannot_be_deleted_by_orm_or_sql(session, result_id):
    tr = session.get(TestResult, result_id)
    session.delete(tr)
    with pytest.raises(LimsError, match="never|may not be deleted"):
        session.flush()
    session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="never deleted"):
        session.connection().exec_driver_sql(f"DELETE FROM test_result WHERE id = {result_id}")
    session.rollback()
    assert session.get(TestResult, result_id) is not None


def test_audit_events_are_append_only(session, result_id):
    void_result(session=session, actor=TECH, result_id=result_id, reason="spoiled kit")
    session.commit()
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "result.void")).one()
    ev.reason = "something nicer"
    session.add(ev)
    with pytest.raises(LimsError, match="append-only"):
        session.flush()
    session.rollback()
    conn = session.connection()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        conn.exec_driver_sql("UPDATE audit_event SET reason = 'x'")
    session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        session.connection().exec_driver_sql("DELETE FROM audit_event")
    session.rollback()
    if session.connection().dialect.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="never emptied"):
            session.connection().exec_driver_sql("TRUNCATE test_result CASCADE")
        session.rollback()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "result.void")
                        ).one().reason == "spoiled kit"


def _three_events(session, result_id):
    correct_result(session=session, actor=TECH, result_id=result_id, raw={"sample_delta": 0.2},
                   reason="first")
    correct_result(session=session, actor=TECH, result_id=result_id, raw={"sample_delta": 0.1},
                   reason="second")
    void_result(session=session, actor=TECH, result_id=result_id, reason="third")
    session.commit()
    return [e.id for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_verify_names_the_event_whose_content_was_changed(session, result_id):
    ids = _three_events(session, result_id)
    assert audit.verify(session=session).ok
    _tamper(session, f"UPDATE audit_event SET reason = 'nothing happened' WHERE id = {ids[1]}")
    report = audit.verify(session=session)
    assert not report.ok and report.broken_at == ids[1]
    assert "content" in report.problem and str(ids[1]) in report.problem


def test_verify_names_the_link_after_a_removed_event(session, result_id):
    ids = _three_events(session, result_id)
    _tamper(session, f"DELETE FROM audit_event WHERE id = {ids[1]}")
    report = audit.verify(session=session)
    assert report.broken_at == ids[2] and "prev_hash" in report.problem


def test_verify_detects_a_rehashed_forgery(session, result_id):
    """Rewriting an event and its own hash still breaks the next event's link."""
    ids = _three_events(session, result_id)
    ev = session.get(AuditEvent, ids[0])
    ev.reason = "forged"
    forged = audit._digest(ev.prev_hash, ev)
    session.expunge(ev)
    _tamper(session, f"UPDATE audit_event SET reason = 'forged', hash = '{forged}' "
                     f"WHERE id = {ids[0]}")
    assert audit.verify(session=session).broken_at == ids[1]


def test_events_query_filters(session, result_id):
    _three_events(session, result_id)
    evs = audit.events(session=session, entity="test_result", entity_id=result_id, limit=2)
    assert [e.reason for e in evs] == ["third", "second"]
    assert audit.events(session=session, actor_name="nobody") == []
    with pytest.raises(ValueError, match="limit"):
        audit.events(session=session, limit=0)


def test_void_of_a_held_result_goes_through_the_review_service(session, result_id):
    from lims.models import Instrument

    inst = Instrument(serial_no="SN-NOCAL", model="RP", kind="pesticide_analyzer",
                      driver="profile")
    session.add(inst)
    session.commit()
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", raw={"control_delta": 0.4, "sample_delta": 0.1}, tested_at=T0,
        market="M1", commodity="小白菜", instrument_serial="SN-NOCAL")])
    held_id = rep.stored[0].result_id
    assert rep.stored[0].status == "held"
    with pytest.raises(PermissionDenied):
        void_result(session=session, actor=TESTER, result_id=held_id, reason="x")
    void_result(session=session, actor=TECH, result_id=held_id, reason="no calibration record")
    session.commit()
    ev = session.exec(select(AuditEvent).where(AuditEvent.entity_id == str(held_id))).one()
    assert ev.action == "result.void" and ev.old["calibration_state"] == "unknown"
    assert rollups.check(session=session) == []
