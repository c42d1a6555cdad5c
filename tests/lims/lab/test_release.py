"""Second-person release (issue 19): a lab result waits, held, until a second user releases it;
the recorder may not; a release makes it count and runs its follow-up; sending back needs a
reason and returns it to its recorder; every step is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from lims.errors import Conflict, PermissionDenied, ValidationFailed
from lims.field.board import public_state
from lims.intake import review, rollups
from lims.intake.corrections import correct_result
from lims.intake.gate import RELEASE_HOLD
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.lab import release
from lims.lab.reports import lab_report
from lims.models import AuditEvent, EnforcementCase, Method, Sample, TestResult
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from tests.lims.conftest import T0, TESTER

LI = Actor("li", Role.LAB_TECHNICIAN)       # records the lab results
WANG = Actor("wang", Role.LAB_TECHNICIAN)   # the second person
ZHAO = Actor("zhao", Role.LAB_TECHNICIAN)


def lab(session, value=0.01):
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="LAB-GCMS", tested_at=T0, market="M1", vendor_stall="A01", commodity="芹菜",
        analyte="毒死蜱", raw={"value": value}, tested_by=LI.username)])
    session.commit()
    return session.get(TestResult, rep.stored[0].result_id)


def actions(session, result_id):
    return list(session.exec(select(AuditEvent.action).where(
        AuditEvent.entity == "test_result", AuditEvent.entity_id == str(result_id),
        AuditEvent.action.in_(("result.send_back", "result.correct", "result.release")))
        .order_by(AuditEvent.id)))


def test_the_recorder_may_not_release_a_second_user_makes_it_count(session, world):
    tr = lab(session)
    code = session.get(Sample, tr.sample_id).code
    assert tr.status == "held" and RELEASE_HOLD in tr.verdict_reasons and not tr.counts
    assert public_state(session=session, code=code) == "held"      # not published
    (row,) = release.pending(session=session, at=tr.created_at + timedelta(hours=30))
    assert row["id"] == tr.id and row["state"] == "waiting" and row["tested_by"] == "li"
    assert row["age_hours"] == 30.0   # waiting since it was stored
    assert review.held(session=session) == []   # not in the calibration review queue
    with pytest.raises(Conflict, match="second-person release"):
        review.accept(session=session, actor=WANG, result_id=tr.id, reason="looks fine")
    with pytest.raises(Conflict, match="recorded by li: a second person"):
        release.release(session=session, actor=Actor("LI ", Role.LAB_TECHNICIAN),
                        result_id=tr.id)
    with pytest.raises(PermissionDenied):
        release.release(session=session, actor=TESTER, result_id=tr.id)
    session.rollback()

    release.release(session=session, actor=WANG, result_id=tr.id, reason="chromatogram ok")
    session.commit()
    session.refresh(tr)   # the rollups set ``counts`` in SQL
    assert tr.status == "accepted" and tr.counts
    assert rollups.check(session=session) == []
    assert public_state(session=session, code=code) == "shown"
    assert release.pending(session=session) == []
    assert lab_report(session=session, code=code).lines[0].released_by == "wang"
    assert actions(session, tr.id)[-1] == "result.release"
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "result.release")).one()
    assert ev.actor == "wang" and ev.reason == "chromatogram ok"
    assert ev.new["status"] == "accepted" and ev.old["status"] == "held"
    with pytest.raises(Conflict, match="not awaiting"):
        release.release(session=session, actor=ZHAO, result_id=tr.id)


def test_a_positive_opens_its_case_only_when_released(session, world):
    card = session.exec(select(Method).where(Method.code == "ENZ-CARD")).one()
    card.requires_release = True   # a kind of field result a county chose to release
    session.commit()
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-CARD", raw={"colour": "unchanged"}, market="M1", vendor_stall="A01",
        commodity="小白菜", tested_at=T0, tested_by=LI.username)])
    session.commit()
    stored = rep.stored[0]
    assert stored.verdict.outcome.value == "positive" and stored.status == "held"
    assert stored.case_id is None
    assert session.exec(select(EnforcementCase)).all() == []
    release.release(session=session, actor=WANG, result_id=stored.result_id)
    session.commit()
    (case,) = session.exec(select(EnforcementCase)).all()
    assert case.result_id == stored.result_id


def test_send_back_needs_a_reason_and_returns_it_to_its_recorder(session, world):
    tr = lab(session, value=0.5)
    with pytest.raises(ValidationFailed, match="reason is required"):
        release.send_back(session=session, actor=WANG, result_id=tr.id, reason="  ")
    release.send_back(session=session, actor=WANG, result_id=tr.id,
                      reason="peak area entered for the wrong analyte")
    session.commit()
    (row,) = release.pending(session=session, recorder="li")
    assert row["state"] == "sent_back" and row["sent_back_by"] == "wang"
    assert row["sent_back_reason"] == "peak area entered for the wrong analyte"
    assert release.pending(session=session, include_sent_back=False) == []
    assert session.get(TestResult, tr.id).status == "held"
    with pytest.raises(Conflict, match="sent back"):
        release.release(session=session, actor=ZHAO, result_id=tr.id)
    # the recorder's colleague corrects it: back in the queue, and a corrector may not release
    correct_result(session=session, actor=ZHAO, result_id=tr.id, raw={"value": 0.02},
                   reason="re-read the chromatogram")
    session.commit()
    (row,) = release.pending(session=session)
    assert row["state"] == "waiting"
    with pytest.raises(Conflict, match="corrected by zhao"):
        release.release(session=session, actor=ZHAO, result_id=tr.id)
    release.release(session=session, actor=WANG, result_id=tr.id)
    session.commit()
    assert actions(session, tr.id) == ["result.send_back", "result.correct", "result.release"]
