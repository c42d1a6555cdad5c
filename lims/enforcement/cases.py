"""Cases after a positive rapid result (Food Safety Law art. 88; SAMR opinion on rapid testing).

A positive opens a case with a clock. Steps, each recorded with who and when (a ``CaseStep``, an
audit event, and a summary column on the case):

* ``notify_vendor`` — the vendor receives the result; the objection clock starts here;
* ``suspend_sale`` — the vendor suspends sale of the product;
* ``lodge_objection`` — accepted only within the window copied onto the case from
  ``refdata/enforcement.toml`` (4 h, art. 88); a late objection is recorded as refused, with why;
* ``record_confirmatory`` — the lab result, stored through the ingest service as a re-test of the
  rapid result (``retest_of_id``) and judged against the MRL of the right GB 2763 edition; a rapid
  method is refused;
* ``record_disposal``, ``publish_notice``, ``close_case`` (only with an outcome);
* ``close_for_voided_result`` — the case of a result voided closes with the void's reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlmodel import Session, select

from lims.enforcement.rules import EnforcementRules, load_enforcement_rules
from lims.errors import InvalidInput, NotFound, RowError, ValidationFailed
from lims.models import CaseStep, EnforcementCase, Sample, TestResult
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import local_tz, now, refuse_future
from lims.wire.cases import CasePublic, StepPublic

PERMISSION = "cases.manage"


@dataclass(frozen=True)
class ObjectionDecision:
    case_id: int
    accepted: bool
    at: datetime
    received_at: datetime
    deadline: datetime
    elapsed_minutes: float
    reason: str


def _fmt(ts: datetime) -> str:
    return ts.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M")


def _hm(minutes: float) -> str:
    m = int(round(minutes))
    return f"{m // 60} h {m % 60:02d} min"


def _aware(at: datetime | None, what: str, case_id: int | str) -> datetime:
    if at is None:
        return now().replace(microsecond=0)
    if at.tzinfo is None:
        raise ValidationFailed([RowError(f"case {case_id}", what, "timestamp without time zone")],
                               "case step")
    return refuse_future(at, what, f"case {case_id}")


def _refuse(case_id: int | str, fieldname: str, message: str,
            what: str = "case step") -> NoReturn:
    raise ValidationFailed([RowError(f"case {case_id}", fieldname, message)], what)


def get_case(*, session: Session, case_id: int) -> EnforcementCase:
    case = session.get(EnforcementCase, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    return case


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(d, ensure_ascii=False,
                                 default=lambda o: o.isoformat() if isinstance(o, datetime)
                                 else str(o)))


def _step(session: Session, actor: Actor, case: EnforcementCase, kind: str, at: datetime,
          details: dict[str, Any], old: dict | None = None, reason: str = "",
          flush: bool = True) -> CaseStep:
    step = CaseStep(case_id=case.id, kind=kind, at=at, by=actor.username,
                    details=_jsonable(details))
    session.add(step)
    session.add(case)
    audit.record(session=session, actor=actor, action=f"case.{kind}", entity="case",
                 entity_id=case.id, old=old, new={"at": at, **details}, reason=reason)
    if flush:
        session.flush()
    return step


def open_case(*, session: Session, actor: Actor, result_id: int, at: datetime | None = None,
              rules: EnforcementRules | None = None, known_new: bool = False) -> EnforcementCase:
    """Open the case of a positive result (returns the existing case when there is one).
    ``known_new``: the caller read that the result has no case (a batch's follow-up)."""
    require(actor, PERMISSION)
    existing = None if known_new else session.exec(
        select(EnforcementCase).where(EnforcementCase.result_id == result_id)).first()
    if existing is not None:
        return existing
    return open_cases(session=session, actor=actor, items=[(result_id, at)], rules=rules)[result_id]


def open_cases(*, session: Session, actor: Actor, items: list[tuple[int, datetime | None]],
               rules: EnforcementRules | None = None) -> dict[int, EnforcementCase]:
    """Open the cases of results the caller read to have none: (result id, opened at or None
    for the result's test time) pairs. The cases, steps and events one ``open_case`` per result
    would make, with two flushes for them all. Returns result id -> case."""
    require(actor, PERMISSION)
    rules = rules or load_enforcement_rules()
    made: list[tuple[EnforcementCase, TestResult, datetime]] = []
    for result_id, at in items:
        result = session.get(TestResult, result_id)
        if result is None:
            raise NotFound(f"no test result with id {result_id}")
        if result.verdict not in rules.case_verdicts:
            _refuse(f"for result {result_id}", "verdict",
                    f"result {result_id} is {result.verdict}; cases open for "
                    f"{', '.join(rules.case_verdicts)} results")
        sample = session.get(Sample, result.sample_id)
        opened = _aware(at, "at", "new") if at is not None else result.tested_at
        made.append((EnforcementCase(
            result_id=result_id, sample_id=result.sample_id,
            vendor_id=sample.vendor_id if sample else None, market_id=result.market_id,
            commodity_id=result.commodity_id, opened_at=opened, opened_by=actor.username,
            objection_window_hours=rules.objection_hours,
            objection_rule=rules.objection_source[:300]), result, opened))
    if not made:
        return {}
    session.add_all([case for case, _r, _at in made])
    session.flush()   # the cases' ids, for their steps and events
    for case, result, opened in made:
        _step(session, actor, case, "opened", opened,
              {"result_id": result.id, "verdict": result.verdict,
               "objection_window_hours": rules.objection_hours}, flush=False)
    session.flush()
    return {result.id: case for case, result, _at in made}


def _open(case: EnforcementCase) -> None:
    if case.status != "open":
        _refuse(case.id, "status", f"case {case.id} is {case.status}")


def notify_vendor(*, session: Session, actor: Actor, case_id: int, at: datetime | None = None,
                  note: str = "") -> EnforcementCase:
    """The vendor received the result at ``at``: the objection clock starts."""
    require(actor, PERMISSION)
    case = get_case(session=session, case_id=case_id)
    _open(case)
    at = _aware(at, "at", case_id)
    if case.result_received_at is not None:
        _refuse(case_id, "at", f"vendor already notified at {_fmt(case.result_received_at)}")
    if at < case.opened_at:
        _refuse(case_id, "at", f"{_fmt(at)} is before the case opened ({_fmt(case.opened_at)})")
    case.result_received_at = at
    deadline = at + timedelta(hours=case.objection_window_hours)
    _step(session, actor, case, "vendor_notified", at,
          {"note": note, "objection_deadline": deadline})
    return case


def suspend_sale(*, session: Session, actor: Actor, case_id: int, at: datetime | None = None,
                 note: str = "") -> EnforcementCase:
    require(actor, PERMISSION)
    case = get_case(session=session, case_id=case_id)
    _open(case)
    at = _aware(at, "at", case_id)
    if case.sale_suspended_at is not None:
        _refuse(case_id, "at", f"sale already suspended at {_fmt(case.sale_suspended_at)}")
    if at < case.opened_at:
        _refuse(case_id, "at", f"{_fmt(at)} is before the case opened ({_fmt(case.opened_at)})")
    case.sale_suspended_at = at
    _step(session, actor, case, "sale_suspended", at, {"note": note})
    return case


def lodge_objection(*, session: Session, actor: Actor, case_id: int, at: datetime | None = None,
                    note: str = "") -> ObjectionDecision:
    """Record the vendor's objection; accepted only within the case's window (art. 88).

    A late objection is recorded as refused (with the reason) and returned, not raised.
    """
    require(actor, PERMISSION)
    case = get_case(session=session, case_id=case_id)
    _open(case)
    at = _aware(at, "at", case_id)
    if case.result_received_at is None:
        _refuse(case_id, "at", "the vendor has not been notified of the result yet: record the "
                "notification first (the objection window runs from it)")
    if case.objection_at is not None:
        state = "accepted" if case.objection_accepted else "refused"
        _refuse(case_id, "objection", f"an objection was already lodged at "
                f"{_fmt(case.objection_at)} ({state})")
    received = case.result_received_at
    if at < received:
        _refuse(case_id, "at", f"{_fmt(at)} is before the vendor received the result "
                f"({_fmt(received)})")
    window = timedelta(hours=case.objection_window_hours)
    deadline = received + window
    elapsed = (at - received).total_seconds() / 60
    accepted = at <= deadline
    if accepted:
        reason = (f"objection {_hm(elapsed)} after the result was received "
                  f"({_fmt(received)}), within {case.objection_window_hours:g} h "
                  f"(until {_fmt(deadline)}; {case.objection_rule}): accepted; the re-test may "
                  "not use a rapid method")
    else:
        reason = (f"objection at {_fmt(at)} is {_hm(elapsed)} after the result was received "
                  f"({_fmt(received)}); objections are accepted within "
                  f"{case.objection_window_hours:g} h, until {_fmt(deadline)} "
                  f"({case.objection_rule}): refused")
    case.objection_at = at
    case.objection_accepted = accepted
    _step(session, actor, case, "objection", at,
          {"accepted": accepted, "reason": reason, "note": note, "deadline": deadline},
          reason=reason)
    return ObjectionDecision(case.id, accepted, at, received, deadline, elapsed, reason)


def record_disposal(*, session: Session, actor: Actor, case_id: int, disposal: str,
                    at: datetime | None = None, note: str = "",
                    rules: EnforcementRules | None = None) -> EnforcementCase:
    """How the product was handled (a key of ``[disposal]`` in enforcement.toml)."""
    require(actor, PERMISSION)
    rules = rules or load_enforcement_rules()
    case = get_case(session=session, case_id=case_id)
    _open(case)
    if disposal not in rules.disposals:
        _refuse(case_id, "disposal", f"unknown disposal {disposal!r}; known: "
                f"{', '.join(rules.disposals)}")
    at = _aware(at, "at", case_id)
    old = {"disposal": case.disposal}
    case.disposal, case.disposed_at = disposal, at
    _step(session, actor, case, "disposal", at,
          {"disposal": disposal, "label_zh": rules.disposals[disposal].get("zh", ""),
           "label_en": rules.disposals[disposal].get("en", ""), "note": note}, old=old)
    return case


def publish_notice(*, session: Session, actor: Actor, case_id: int, text: str,
                   at: datetime | None = None) -> EnforcementCase:
    """The market's public notice of how the positive was handled."""
    require(actor, PERMISSION)
    case = get_case(session=session, case_id=case_id)
    _open(case)
    if not text.strip():
        _refuse(case_id, "text", "the public notice text is empty")
    at = _aware(at, "at", case_id)
    case.notice_at = at
    _step(session, actor, case, "public_notice", at, {"text": text.strip()})
    return case


#: how a case ends: the lab confirmed or overturned the positive; the vendor did not object
#: within the window, so the rapid result stands; the result itself was voided
OUTCOMES = ("confirmed", "overturned", "uncontested", "voided")


def _closing_outcome(case: EnforcementCase, at: datetime) -> str:
    """The outcome a case closes with, or InvalidInput naming the field ``outcome``."""
    if case.outcome:
        return case.outcome
    if case.objection_accepted:
        raise InvalidInput(f"outcome: case {case.id} has no outcome: the vendor's objection was "
                           "accepted, so the case closes only on the lab (non-rapid) re-test; "
                           "record the confirmatory result first")
    if case.result_received_at is None:
        raise InvalidInput(f"outcome: case {case.id} has no outcome: the vendor has not been "
                           "notified of the result, so the objection window has not run; notify "
                           "the vendor, or record a confirmatory result")
    deadline = case.result_received_at + timedelta(hours=case.objection_window_hours)
    if at < deadline:
        raise InvalidInput(f"outcome: case {case.id} has no outcome yet: the vendor may object "
                           f"until {_fmt(deadline)} ({case.objection_rule}); close after that, "
                           "or record a confirmatory result")
    return "uncontested"


def close_case(*, session: Session, actor: Actor, case_id: int, at: datetime | None = None,
               reason: str = "") -> EnforcementCase:
    """Close a case once the product has been handled (or the positive was overturned).

    A case closes only with an outcome: the lab's (confirmed / overturned), or ``uncontested``
    when the vendor was notified and the objection window ended without an accepted objection.
    """
    require(actor, PERMISSION)
    case = get_case(session=session, case_id=case_id)
    _open(case)
    if not case.disposal and case.outcome != "overturned":
        _refuse(case_id, "disposal", "record how the product was handled before closing "
                "(or a compliant confirmatory result)")
    at = _aware(at, "at", case_id)
    outcome = _closing_outcome(case, at)
    old = {"status": "open", "outcome": case.outcome}
    case.status, case.closed_at, case.outcome = "closed", at, outcome
    _step(session, actor, case, "closed", at, {"reason": reason, "outcome": outcome}, old=old,
          reason=reason)
    return case


def close_for_voided_result(*, session: Session, actor: Actor, result_id: int, reason: str,
                            at: datetime | None = None) -> EnforcementCase | None:
    """The result of an open case was voided: close the case (outcome ``voided``) with the
    reason, as a recorded and audited step. Called by the void of a result, whose permission
    (``results.review``) covers it. Returns the case closed, or None when none was open."""
    case = session.exec(select(EnforcementCase)
                        .where(EnforcementCase.result_id == result_id)).first()
    if case is None or case.status != "open":
        return None
    at = _aware(at, "at", case.id)
    old = {"status": "open", "outcome": case.outcome}
    case.status, case.closed_at, case.outcome = "closed", at, "voided"
    why = f"result {result_id} voided: {reason}"
    _step(session, actor, case, "closed", at,
          {"reason": why, "outcome": "voided", "voided_result_id": result_id}, old=old,
          reason=why)
    return case


def case_view(*, session: Session, case_id: int) -> CasePublic:
    """The case with its clock and its timeline (steps in time order)."""
    case = get_case(session=session, case_id=case_id)
    sample = session.get(Sample, case.sample_id)
    steps = session.exec(select(CaseStep).where(CaseStep.case_id == case_id)
                         .order_by(CaseStep.at, CaseStep.id)).all()
    deadline = (case.result_received_at + timedelta(hours=case.objection_window_hours)
                if case.result_received_at else None)
    return CasePublic(
        id=case.id, status=case.status, result_id=case.result_id,
        sample_code=sample.code if sample else "", vendor_id=case.vendor_id,
        market_id=case.market_id, commodity_id=case.commodity_id, opened_at=case.opened_at,
        result_received_at=case.result_received_at, objection_deadline=deadline,
        objection_window_hours=case.objection_window_hours, objection_rule=case.objection_rule,
        objection_accepted=case.objection_accepted, sale_suspended_at=case.sale_suspended_at,
        outcome=case.outcome, disposal=case.disposal, notice_at=case.notice_at,
        closed_at=case.closed_at,
        steps=[StepPublic(kind=s.kind, at=s.at, by=s.by, details=dict(s.details))
               for s in steps])


def list_cases(*, session: Session, status: str | None = None, market_id: int | None = None,
               vendor_id: int | None = None) -> list[EnforcementCase]:
    q = select(EnforcementCase)
    if status:
        q = q.where(EnforcementCase.status == status)
    if market_id is not None:
        q = q.where(EnforcementCase.market_id == market_id)
    if vendor_id is not None:
        q = q.where(EnforcementCase.vendor_id == vendor_id)
    return list(session.exec(q.order_by(EnforcementCase.opened_at.desc(),
                                        EnforcementCase.id.desc())))
