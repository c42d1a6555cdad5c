"""Confirmatory (lab) results of a case: stored through the intake pipeline as re-tests of the
case's rapid result; the case outcome follows from them (confirmed / overturned)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from lims.enforcement.cases import PERMISSION, _fmt, _open, _refuse, _step, get_case
from lims.enforcement.grades import regrade_vendor
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.intake.retests import COUNTED
from lims.models import Analyte, EnforcementCase, Method, Sample, TestResult, Threshold
from lims.models.enums import ResultStatus
from lims.reference.lookup import RefCache
from lims.security.auth import Actor, require
from lims.verdicts import Outcome


@dataclass(frozen=True)
class ConfirmatoryOutcome:
    case_id: int
    result_id: int
    verdict: str
    value: float | None
    unit: str | None
    standard: str | None
    reasons: tuple[str, ...]
    case_outcome: str  # confirmed, overturned or "" (undecided)
    held: bool = False  # stored held (awaits second-person release or review): decides later


def record_confirmatory(*, session: Session, actor: Actor, case_id: int, method: str,
                        analyte: str, value: float, tested_at: datetime, unit: str = "mg/kg",
                        standard: str | None = None, instrument_serial: str | None = None,
                        cache: RefCache | None = None) -> ConfirmatoryOutcome:
    """Store the lab's quantitative result as a re-test of the case's rapid result.

    Refuses a rapid method (art. 88). The verdict comes from the intake pipeline (MRL of the
    edition in force on the test date, or ``standard``). Case outcome: ``confirmed`` when any
    confirmatory result exceeds its MRL, ``overturned`` when all are within.
    """
    require(actor, PERMISSION)
    case = get_case(session=session, case_id=case_id)
    _open(case)
    cache = cache or RefCache.load(session)
    m: Method = cache.method(method)
    if m.is_rapid:
        why = ("a re-test on objection may not use a rapid method (Food Safety Law art. 88)"
               if case.objection_accepted else
               "confirmatory testing of a positive needs a non-rapid (lab) method")
        _refuse(case_id, "method", f"method {m.code} is a rapid method: {why}", "re-test")
    if tested_at.tzinfo is not None and tested_at < case.opened_at:
        _refuse(case_id, "tested_at", f"{_fmt(tested_at)} is before the rapid result it "
                f"confirms ({_fmt(case.opened_at)})", "re-test")
    sample = session.get(Sample, case.sample_id)
    source = "objection" if case.objection_accepted else "confirmatory"
    report = accept_readings(session=session, actor=actor, cache=cache, readings=[ReadingIn(
        method=m.code, raw={"value": value, "unit": unit}, tested_at=tested_at,
        sample_code=sample.code, analyte=analyte, instrument_serial=instrument_serial,
        tested_by=actor.username, standard=standard, retest_of_id=case.result_id,
        source=source, row=f"case {case_id}")])
    stored = report.stored[0]
    old_outcome = case.outcome
    refresh_outcome(session=session, case=case)
    if case.outcome != old_outcome:
        # the pipeline graded the vendor before the lab decided the case: grade again, so a
        # positive overturned on objection no longer counts against the vendor (and a confirmed
        # one does)
        session.flush()
        regrade_vendor(session=session, actor=actor, vendor_id=case.vendor_id)
    if stored.verdict.outcome is Outcome.NONCOMPLIANT or case.confirmatory_result_id is None:
        case.confirmatory_result_id = stored.result_id
    v = stored.verdict
    std = (v.threshold or {}).get("standard")
    _step(session, actor, case, "confirmatory_result", tested_at,
          {"result_id": stored.result_id, "method": m.code, "analyte": analyte, "value": value,
           "unit": unit, "verdict": v.outcome.value, "standard": std,
           "reasons": list(v.reasons), "case_outcome": case.outcome},
          old={"outcome": old_outcome})
    return ConfirmatoryOutcome(case.id, stored.result_id, v.outcome.value, v.value, v.unit, std,
                               tuple(v.reasons), case.outcome,
                               held=stored.status == ResultStatus.HELD.value)


def refresh_outcome(*, session: Session, case: EnforcementCase) -> str:
    """Set the case outcome from the lab (non-rapid) re-tests of its result.

    ``confirmed`` when any exceeds its MRL, ``overturned`` when all are within, else unchanged.
    Also links the deciding lab result (the first noncompliant one, else the first). Only lab
    results that count decide: one held (awaiting second-person release, ``lims.lab.release``,
    or calibration review) decides once released or accepted (``refresh_cases_of``).
    """
    lab_ids = list(session.exec(select(Method.id).where(Method.is_rapid.is_(False))))
    labs = session.exec(select(TestResult).where(
        TestResult.retest_of_id == case.result_id, TestResult.method_id.in_(lab_ids),
        TestResult.status.in_(COUNTED)).order_by(TestResult.tested_at, TestResult.id)).all()
    bad = [r for r in labs if r.verdict == Outcome.NONCOMPLIANT.value]
    if bad:
        case.outcome = "confirmed"
    elif labs and all(r.verdict == Outcome.COMPLIANT.value for r in labs):
        case.outcome = "overturned"
    if labs and case.confirmatory_result_id is None:
        case.confirmatory_result_id = (bad or labs)[0].id
    session.add(case)
    return case.outcome


def refresh_cases_of(*, session: Session, actor: Actor, result_ids: list[int]) -> list[int]:
    """Lab re-tests that count only now (released or accepted after a hold): the open cases of
    the rapid results they re-test decide their outcome again; a vendor whose case outcome
    changed is graded again. Returns the ids of the cases whose outcome changed."""
    from lims.security import audit

    lab_ids = list(session.exec(select(Method.id).where(Method.is_rapid.is_(False))))
    screens = set(session.exec(select(TestResult.retest_of_id).where(
        TestResult.id.in_(result_ids), TestResult.method_id.in_(lab_ids),
        TestResult.retest_of_id.is_not(None)))) if result_ids and lab_ids else set()
    changed = []
    for case in session.exec(select(EnforcementCase).where(
            EnforcementCase.result_id.in_(screens), EnforcementCase.status == "open")).all():
        old = case.outcome
        if refresh_outcome(session=session, case=case) != old:
            session.flush()
            audit.record(session=session, actor=actor, action="case.outcome", entity="case",
                         entity_id=case.id, old={"outcome": old}, new={"outcome": case.outcome})
            regrade_vendor(session=session, actor=actor, vendor_id=case.vendor_id)
            changed.append(case.id)
    return changed


def link_confirmatory(*, session: Session, actor: Actor, case_id: int, result_id: int,
                      at: datetime) -> ConfirmatoryOutcome:
    """A lab result stored already as a re-test of the case's result (e.g. uploaded by the
    station that recorded it, ``lims.sync.apply``) becomes the case's confirmatory result: the
    outcome, the link and the ``confirmatory_result`` step, as ``record_confirmatory`` makes
    them. The verdict is this database's own (its thresholds)."""
    require(actor, PERMISSION)
    case = get_case(session=session, case_id=case_id)
    _open(case)
    lab = session.get(TestResult, result_id)
    m = session.get(Method, lab.method_id) if lab is not None else None
    if lab is None or m is None or lab.retest_of_id != case.result_id or m.is_rapid:
        _refuse(case_id, "result_id", f"result {result_id} is not a lab re-test of the case's "
                f"result {case.result_id}", "re-test")
    old_outcome = case.outcome
    refresh_outcome(session=session, case=case)
    if case.outcome != old_outcome:
        session.flush()
        regrade_vendor(session=session, actor=actor, vendor_id=case.vendor_id)
    if lab.verdict == Outcome.NONCOMPLIANT.value or case.confirmatory_result_id is None:
        case.confirmatory_result_id = lab.id
    threshold = session.get(Threshold, lab.threshold_id) if lab.threshold_id else None
    analyte = session.get(Analyte, lab.analyte_id) if lab.analyte_id else None
    std = f"{threshold.standard}-{threshold.edition}" if threshold is not None else None
    raw = lab.raw or {}
    value, unit = raw.get("value", lab.computed_value), raw.get("unit", lab.computed_unit)
    _step(session, actor, case, "confirmatory_result", at,
          {"result_id": lab.id, "method": m.code, "analyte": analyte.name_zh if analyte else "",
           "value": value, "unit": unit, "verdict": lab.verdict, "standard": std,
           "reasons": list(lab.verdict_reasons or []), "case_outcome": case.outcome},
          old={"outcome": old_outcome})
    return ConfirmatoryOutcome(case.id, lab.id, lab.verdict, lab.computed_value,
                               lab.computed_unit, std, tuple(lab.verdict_reasons or []),
                               case.outcome, held=lab.status == ResultStatus.HELD.value)
