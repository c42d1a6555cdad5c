"""Cases after a positive: the objection clock's edges, the non-rapid re-test, the timeline."""

from datetime import timedelta

import pytest
from sqlmodel import func, select

from lims.enforcement import cases, confirmation
from lims.errors import InvalidInput, ValidationFailed
from lims.field.stand import record_field_test
from lims.intake import corrections
from lims.lab import release
from lims.models import AuditEvent, CaseStep, EnforcementCase, TestResult
from lims.models.enums import Role
from lims.security.auth import Actor
from tests.lims.conftest import T0, TESTER

TECH = Actor("tech", Role.LAB_TECHNICIAN)


def positive(session, stall="A01", commodity="韭菜", at=T0):
    out = record_field_test(session=session, actor=TESTER, market="M1", vendor_stall=stall,
                            commodity=commodity, card_colour="unchanged", tested_at=at)
    session.commit()
    assert out.verdict == "positive" and out.case_id is not None
    return out


def notified(session, **kw):
    out = positive(session, **kw)
    cases.notify_vendor(session=session, actor=TESTER, case_id=out.case_id, at=T0)
    return out


def test_positive_opens_case_with_clock(session, world):
    out = positive(session)
    case = session.get(EnforcementCase, out.case_id)
    assert case.status == "open" and case.result_id == out.result_id
    assert case.objection_window_hours == 4.0
    assert "art. 88" in case.objection_rule
    assert case.vendor_id == world["vendors"]["A01"].id
    view = cases.notify_vendor(session=session, actor=TESTER, case_id=case.id,
                               at=T0 + timedelta(minutes=5))
    assert view.result_received_at == T0 + timedelta(minutes=5)
    v = cases.case_view(session=session, case_id=case.id)
    assert v.objection_deadline == T0 + timedelta(hours=4, minutes=5)


@pytest.mark.parametrize("minutes,accepted", [(3 * 60 + 59, True), (4 * 60, True),
                                              (4 * 60 + 1, False)])
def test_objection_window_edges(session, world, minutes, accepted):
    out = notified(session)
    d = cases.lodge_objection(session=session, actor=TESTER, case_id=out.case_id,
                              at=T0 + timedelta(minutes=minutes))
    session.commit()
    assert d.accepted is accepted
    assert d.deadline == T0 + timedelta(hours=4)
    case = session.get(EnforcementCase, out.case_id)
    assert case.objection_accepted is accepted
    if accepted:
        assert "accepted" in d.reason
    else:
        assert "refused" in d.reason and "4 h 01 min" in d.reason and "art. 88" in d.reason
    step = session.exec(select(CaseStep).where(CaseStep.case_id == out.case_id,
                                               CaseStep.kind == "objection")).one()
    assert step.details["accepted"] is accepted and step.by == "tester"


def test_objection_needs_notification_and_only_once(session, world):
    out = positive(session)
    with pytest.raises(ValidationFailed, match="not been notified"):
        cases.lodge_objection(session=session, actor=TESTER, case_id=out.case_id, at=T0)
    cases.notify_vendor(session=session, actor=TESTER, case_id=out.case_id, at=T0)
    cases.lodge_objection(session=session, actor=TESTER, case_id=out.case_id,
                          at=T0 + timedelta(hours=1))
    with pytest.raises(ValidationFailed, match="already lodged"):
        cases.lodge_objection(session=session, actor=TESTER, case_id=out.case_id,
                              at=T0 + timedelta(hours=2))


def test_rapid_method_refused_for_retest_and_nothing_written(session, world):
    out = notified(session)
    cases.lodge_objection(session=session, actor=TESTER, case_id=out.case_id,
                          at=T0 + timedelta(hours=1))
    session.commit()
    before = session.exec(select(func.count()).select_from(TestResult)).one()
    with pytest.raises(ValidationFailed, match="rapid method.*art. 88"):
        confirmation.record_confirmatory(session=session, actor=TESTER, case_id=out.case_id,
                                  method="KJ-GOLD-CBF", analyte="克百威", value=0.5,
                                  tested_at=T0 + timedelta(hours=5))
    session.rollback()
    assert session.exec(select(func.count()).select_from(TestResult)).one() == before


def test_confirmatory_judged_against_edition_and_linked(session, world):
    out = notified(session)
    cases.lodge_objection(session=session, actor=TESTER, case_id=out.case_id,
                          at=T0 + timedelta(hours=2))
    # procymidone in leek: 0.2 mg/kg under GB 2763-2021, 5 mg/kg under GB 2763.1-2022 (in force
    # on the test date), so 1.0 mg/kg passes the edition in force and fails the 2021 one
    ok = confirmation.record_confirmatory(session=session, actor=TESTER, case_id=out.case_id,
                                   method="LAB-GCMS", analyte="腐霉利", value=1.0,
                                   tested_at=T0 + timedelta(days=1))
    assert ok.verdict == "compliant" and ok.standard == "GB 2763.1-2022"
    assert ok.case_outcome == ""   # a lab result decides once a second person released it
    release.release(session=session, actor=TECH, result_id=ok.result_id)
    assert session.get(EnforcementCase, out.case_id).outcome == "overturned"
    bad = confirmation.record_confirmatory(session=session, actor=TESTER, case_id=out.case_id,
                                    method="LAB-GCMS", analyte="腐霉利", value=1.0,
                                    standard="GB 2763-2021",
                                    tested_at=T0 + timedelta(days=1, hours=1))
    release.release(session=session, actor=TECH, result_id=bad.result_id)
    session.commit()
    assert bad.verdict == "noncompliant" and bad.standard == "GB 2763-2021"
    assert session.get(EnforcementCase, out.case_id).outcome == "confirmed"
    lab = session.get(TestResult, bad.result_id)
    assert lab.retest_of_id == out.result_id and lab.source == "objection"
    assert session.get(EnforcementCase, out.case_id).confirmatory_result_id == bad.result_id


def test_full_case_timeline_and_audit(session, world):
    out = notified(session)
    cid = out.case_id
    cases.suspend_sale(session=session, actor=TESTER, case_id=cid, at=T0 + timedelta(minutes=2))
    with pytest.raises(ValidationFailed, match="before the rapid result"):
        confirmation.record_confirmatory(session=session, actor=TESTER, case_id=cid, method="LAB-GCMS",
                                  analyte="氧乐果", value=0.05, tested_at=T0 - timedelta(days=1))
    with pytest.raises(ValidationFailed, match="handled before closing"):
        cases.close_case(session=session, actor=TESTER, case_id=cid)
    lab = confirmation.record_confirmatory(session=session, actor=TESTER, case_id=cid,
                                           method="LAB-GCMS", analyte="氧乐果", value=0.05,
                                           tested_at=T0 + timedelta(hours=20))
    release.release(session=session, actor=TECH, result_id=lab.result_id)
    with pytest.raises(ValidationFailed, match="unknown disposal"):
        cases.record_disposal(session=session, actor=TESTER, case_id=cid, disposal="eaten")
    cases.record_disposal(session=session, actor=TESTER, case_id=cid, disposal="destroyed",
                          at=T0 + timedelta(hours=21))
    cases.publish_notice(session=session, actor=TESTER, case_id=cid, text="韭菜 A01 已监督销毁",
                         at=T0 + timedelta(hours=22))
    cases.close_case(session=session, actor=TESTER, case_id=cid, at=T0 + timedelta(hours=23))
    session.commit()
    v = cases.case_view(session=session, case_id=cid)
    assert v.status == "closed" and v.outcome == "confirmed" and v.disposal == "destroyed"
    assert [s.kind for s in v.steps] == ["opened", "vendor_notified", "sale_suspended",
                                         "confirmatory_result", "disposal", "public_notice",
                                         "closed"]
    assert v.steps[3].details["verdict"] == "noncompliant"
    assert v.steps[3].details["standard"] == "GB 2763-2021"
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity == "case",
                                                           AuditEvent.entity_id == str(cid))).all()
    assert actions == ["case.opened", "case.vendor_notified", "case.sale_suspended",
                       "case.confirmatory_result", "case.outcome",   # decided when released
                       "case.disposal", "case.public_notice", "case.closed"]
    with pytest.raises(ValidationFailed, match="closed"):
        cases.suspend_sale(session=session, actor=TESTER, case_id=cid)
    assert [c.id for c in cases.list_cases(session=session, status="closed")] == [cid]


def test_negative_opens_no_case(session, world):
    out = record_field_test(session=session, actor=TESTER, market="M1", vendor_stall="A02",
                            commodity="小白菜", card_colour="sky_blue", tested_at=T0)
    assert out.verdict == "negative" and out.case_id is None and out.alert_id is None
    with pytest.raises(ValidationFailed, match="cases open for positive"):
        cases.open_case(session=session, actor=TESTER, result_id=out.result_id)


def test_case_closes_only_with_an_outcome(session, world):
    out = notified(session)                     # notified at T0: objection window until T0+4 h
    cid = out.case_id
    cases.record_disposal(session=session, actor=TESTER, case_id=cid, disposal="destroyed",
                          at=T0 + timedelta(hours=1))
    with pytest.raises(InvalidInput, match=r"^outcome: case \d+ has no outcome yet.*may object"):
        cases.close_case(session=session, actor=TESTER, case_id=cid, at=T0 + timedelta(hours=2))
    cases.lodge_objection(session=session, actor=TESTER, case_id=cid, at=T0 + timedelta(hours=3))
    with pytest.raises(InvalidInput, match=r"^outcome: .*objection was accepted"):
        cases.close_case(session=session, actor=TESTER, case_id=cid, at=T0 + timedelta(hours=5))
    assert session.get(EnforcementCase, cid).status == "open"


def test_uncontested_case_closes_with_that_outcome(session, world):
    out = notified(session)
    cid = out.case_id
    cases.record_disposal(session=session, actor=TESTER, case_id=cid, disposal="destroyed",
                          at=T0 + timedelta(hours=1))
    cases.close_case(session=session, actor=TESTER, case_id=cid, at=T0 + timedelta(hours=5))
    v = cases.case_view(session=session, case_id=cid)
    assert v.status == "closed" and v.outcome == "uncontested"
    assert v.steps[-1].kind == "closed" and v.steps[-1].details["outcome"] == "uncontested"


def test_voiding_a_result_closes_its_open_case(session, world):
    out = notified(session)
    cid = out.case_id
    corrections.void_result(session=session, actor=TECH, result_id=out.result_id,
                            reason="wrong sample scanned")
    session.commit()
    v = cases.case_view(session=session, case_id=cid)
    assert v.status == "closed" and v.outcome == "voided"
    assert v.steps[-1].kind == "closed"
    assert "wrong sample scanned" in v.steps[-1].details["reason"]
    assert v.steps[-1].details["voided_result_id"] == out.result_id
    ev = session.exec(select(AuditEvent).where(AuditEvent.entity == "case",
                                               AuditEvent.entity_id == str(cid),
                                               AuditEvent.action == "case.closed")).one()
    assert "wrong sample scanned" in ev.reason and ev.actor == "tech"
