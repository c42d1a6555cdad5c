"""Corrections and voids of stored results: never a delete, always a reason and an audit event.

* ``correct_result`` — a transcription error in the raw values: the corrected raw values are
  judged again by the verdict engine (never typed in as a verdict); the old values stay in the
  audit event (``result.correct``: old and new raw, verdict, value) with the reason.
* ``void_result`` — the result must not count (wrong sample, spoiled kit …): status ``voided``,
  kept in the table with the reason (``result.void``). A held result is voided through
  ``lims.intake.review.void`` (the review of held results), so both write the same event. The
  result's open case, if any, closes with the reason (outcome ``voided``).

Both refresh the pass-rate rollups of the result's (market, week) in the same transaction.
Permissions: ``results.correct`` (lab technicians, admins) and ``results.review`` (the same roles
that accept held results): field testers and managers can do neither.
"""

from __future__ import annotations

import math
import re
from typing import Any

from sqlmodel import Session

from lims.enforcement.cases import close_for_voided_result
from lims.errors import Conflict, InvalidInput, NotFound
from lims.intake import review, rollups
from lims.intake.judging import judge, raw_keys_of
from lims.models import Analyte, Commodity, Method, TestResult, Threshold
from lims.models.enums import ResultStatus
from lims.reference.lookup import RefCache
from lims.security import audit, seals
from lims.security.auth import Actor, require
from lims.storage.engine import begin_write
from lims.verdicts import parse_outcome, same_meaning

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)

#: raw values a method kind may carry besides its required ones (``raw_keys_of``)
OPTIONAL_RAW: dict[str, tuple[str, ...]] = {"test_card": ("blank_ok",),
                                            "lab_quantitative": ("unit",)}
#: raw values that are words, not numbers
TEXT_RAW = frozenset({"colour", "unit"})


def parse_number(text: str) -> float:
    """A decimal number written plainly: ``0.05``, ``-1``, ``2e-3``. Refuses (InvalidInput) what
    Python's ``float`` would also take: ``nan``, ``inf``, digit separators (``1_0`` is not 10,
    ``0_05`` not 5), non-ASCII digits, and numbers too large to be finite."""
    t = text.strip()
    if not _NUMBER_RE.fullmatch(t):
        raise InvalidInput(f"not a number: {text!r}")
    x = float(t)
    if not math.isfinite(x):
        raise InvalidInput(f"not a finite number: {text!r}")
    return x


def allowed_raw_keys(method: Method) -> tuple[str, ...]:
    """The raw values a correction may set on a result of ``method``."""
    return (*raw_keys_of(method), *OPTIONAL_RAW.get(method.kind, ()))


def _check_raw(raw: dict[str, Any], method: Method, result_id: int) -> None:
    allowed = allowed_raw_keys(method)
    for key, value in raw.items():
        if key not in allowed:
            raise InvalidInput(f"raw: test result {result_id}: method {method.code} "
                               f"({method.kind}) has no raw value {key!r}; a correction may set "
                               f"{', '.join(allowed)} (the verdict is always recomputed)")
        if value is None:
            continue
        if key in TEXT_RAW:
            ok = isinstance(value, str) and value.strip() != ""
            what = "a word"
        elif key == "blank_ok":
            ok, what = isinstance(value, bool), "true or false"
        else:
            ok = (isinstance(value, int | float) and not isinstance(value, bool)
                  and math.isfinite(value))
            what = "a finite number"
        if not ok:
            raise InvalidInput(f"raw: test result {result_id}: {key} must be {what}, "
                               f"got {value!r}")


def _reason(reason: str, what: str, result_id: int) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(f"reason: required to {what} test result {result_id}")
    if len(text) > 1000:
        raise InvalidInput(f"reason: at most 1000 characters (to {what} test result {result_id})")
    return text


def _result(session: Session, result_id: int) -> TestResult:
    """The result, locked for this transaction (two writers correct it one after the other and
    the second sees the first's change: no lost update)."""
    begin_write(session)
    tr = session.get(TestResult, result_id, with_for_update=True, populate_existing=True)
    if tr is None:
        raise NotFound(f"test result {result_id} does not exist")
    return tr


def _state(tr: TestResult) -> dict[str, Any]:
    return {"raw": dict(tr.raw), "verdict": tr.verdict, "computed_value": tr.computed_value,
            "computed_unit": tr.computed_unit, "status": tr.status,
            "verdict_mismatch": tr.verdict_mismatch, "threshold_id": tr.threshold_id}


def _not_staged(tr: TestResult) -> None:
    if tr.status == ResultStatus.STAGED.value:
        raise Conflict(f"test result {tr.id} belongs to a file import that is not published yet "
                       "(staged); change it once the import is complete")


def correct_result(*, session: Session, actor: Actor, result_id: int, raw: dict[str, Any],
                   reason: str) -> TestResult:
    """Replace some raw values (keys in ``raw``; a None value removes a key) and re-judge."""
    require(actor, "results.correct")
    why = _reason(reason, "correct", result_id)
    if not isinstance(raw, dict) or not raw:
        raise InvalidInput(f"raw: give the corrected values of test result {result_id}, "
                           "e.g. {'sample_delta': 0.21}")
    tr = _result(session, result_id)
    if tr.status == ResultStatus.VOIDED.value:
        raise Conflict(f"test result {result_id} is voided; it cannot be corrected")
    _not_staged(tr)
    method = session.get(Method, tr.method_id)
    commodity = session.get(Commodity, tr.commodity_id)
    analyte = session.get(Analyte, tr.analyte_id) if tr.analyte_id else None
    _check_raw(raw, method, result_id)
    new_raw = {**tr.raw, **raw}
    new_raw = {k: v for k, v in new_raw.items() if v is not None}
    missing = [k for k in raw_keys_of(method) if new_raw.get(k) in (None, "")]
    if missing:
        raise InvalidInput(f"raw: test result {result_id}: method {method.code} ({method.kind}) "
                           f"needs {', '.join(missing)}")
    if new_raw == tr.raw:
        raise InvalidInput(f"raw: the corrected values equal the stored ones of test result "
                           f"{result_id}; nothing to correct")
    standard = None
    if tr.threshold_id is not None:
        th = session.get(Threshold, tr.threshold_id)
        standard = th.standard_edition if th is not None else None
    cache = RefCache.load(session)
    verdict = judge(method, new_raw, commodity=commodity, analyte=analyte, on=tr.local_date,
                    limit_for=lambda a, c, on, std: cache.limit(a, c, on, std), standard=standard)
    old = _state(tr)
    mismatch = False
    if tr.instrument_verdict:
        mismatch = not same_meaning(verdict.outcome, parse_outcome(tr.instrument_verdict))
    reasons = list(verdict.reasons) + [f"warning: {w}" for w in verdict.warnings]
    if mismatch:
        reasons.append(f"instrument said {tr.instrument_verdict!r}, the engine says "
                       f"{verdict.outcome.value}: flagged for review")
    reasons.append(f"corrected by {actor.username}: {why}")
    tr.raw = new_raw
    tr.verdict = verdict.outcome.value
    tr.computed_value = verdict.value
    tr.computed_unit = verdict.unit
    tr.verdict_reasons = reasons
    tr.verdict_mismatch = mismatch
    tr.threshold_id = (verdict.threshold or {}).get("threshold_id")
    session.add(tr)
    session.flush()
    audit.record(session=session, actor=actor, action="result.correct", entity="test_result",
                 entity_id=tr.id, old=old, new=_state(tr), reason=why)
    seals.reseal(session, actor, [tr.id], reason=why)
    rollups.refresh(session=session, keys={(tr.market_id, tr.week_start)})
    return tr


def void_result(*, session: Session, actor: Actor, result_id: int, reason: str) -> TestResult:
    """Void a result (kept, never deleted; out of every statistic)."""
    require(actor, "results.review")
    why = _reason(reason, "void", result_id)
    tr = _result(session, result_id)
    if tr.status == ResultStatus.VOIDED.value:
        raise Conflict(f"test result {result_id} is voided already")
    _not_staged(tr)
    if tr.status == ResultStatus.HELD.value:  # the review service owns held results
        tr = review.void(session=session, actor=actor, result_id=result_id, reason=why)
        close_for_voided_result(session=session, actor=actor, result_id=result_id, reason=why)
        return tr
    old = _state(tr)
    tr.status = ResultStatus.VOIDED.value
    tr.verdict_reasons = [*tr.verdict_reasons, f"voided by {actor.username}: {why}"]
    session.add(tr)
    session.flush()
    audit.record(session=session, actor=actor, action="result.void", entity="test_result",
                 entity_id=tr.id, old={"status": old["status"]}, new={"status": tr.status},
                 reason=why)
    seals.reseal(session, actor, [tr.id], reason=why)
    close_for_voided_result(session=session, actor=actor, result_id=result_id, reason=why)
    rollups.refresh(session=session, keys={(tr.market_id, tr.week_start)})
    return tr
