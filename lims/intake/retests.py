"""Re-tests before a positive is final (GB/T 5009.199-2003; domain.md §2.1).

A positive first screen of a rapid method whose parameter ``retests_for_positive`` is above 0 is
not final: its sample becomes "positive, re-test pending" (``Sample.retest_state`` = "pending";
the number of re-tests the method asks for is copied to ``Sample.retests_required`` so a later
edit of the method does not change a sample already waiting). A re-test is a reading of the same
sample with the same method and analyte, linked to the screen (``retest_of_id``, set by the
binding stage), that counts (recorded or accepted: a held re-test counts once it is accepted).
Walking the re-tests in test order:

* a positive re-test confirms; when ``retests_required`` have confirmed, the sample is
  "confirmed" and the positive is final: its case opens and its alert is raised at the time of
  the re-test that confirmed it (``lims.enforcement.followup``);
* an invalid re-test (a failed control) decides nothing: the tester re-tests again;
* any other re-test (negative, suspicious) closes it as "not confirmed": no case, no alert.

A method whose parameter is 0 (test cards and gold strips as shipped) is final at once. A method
stored before the parameter existed falls back to ``DEFAULT_BY_KIND`` (enzyme inhibition: 2).
Every change of state is an audit event; a decided state (confirmed / not confirmed) stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, select

from lims.errors import ConfigError, NotFound
from lims.models import Method, Sample, TestResult
from lims.models.enums import ResultStatus
from lims.security import audit
from lims.security.auth import Actor
from lims.storage.bulk import among

PARAM = "retests_for_positive"
DEFAULT_BY_KIND = {"enzyme_inhibition": 2}   # GB/T 5009.199-2003: re-tested at least twice
COUNTED = (ResultStatus.RECORDED.value, ResultStatus.ACCEPTED.value)
POSITIVE = "positive"
INVALID = "invalid"


class RetestState(StrEnum):
    PENDING = "pending"               # 待复检: positive screen, re-tests still needed
    CONFIRMED = "confirmed"           # the re-tests confirmed it: the positive is final
    NOT_CONFIRMED = "not_confirmed"   # a re-test did not confirm it: no case, no alert


DECIDED = (RetestState.CONFIRMED.value, RetestState.NOT_CONFIRMED.value)
LABELS = {  # (zh, en); {n} = re-tests still needed
    RetestState.PENDING.value: ("阳性,待复检(还需 {n} 次)", "positive, re-test pending ({n} more)"),
    RetestState.CONFIRMED.value: ("复检确认阳性", "positive, confirmed by re-tests"),
    RetestState.NOT_CONFIRMED.value: ("复检未确认", "positive not confirmed by re-test"),
}


def check_param(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems with a method's ``retests_for_positive`` (for the reference-data editor)."""
    value = params.get(PARAM)
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) \
            or not 0 <= value <= 10:
        return [(PARAM, f"must be a whole number from 0 to 10, got {value!r}")]
    return []


def retests_required(method: Method) -> int:
    """How many confirming re-tests a positive first screen of ``method`` needs (0: none)."""
    if not method.is_rapid:
        return 0
    params = method.params or {}
    if params.get(PARAM) is None:
        return DEFAULT_BY_KIND.get(method.kind, 0)
    problems = check_param(params)
    if problems:
        raise ConfigError(f"method {method.code}: parameter {problems[0][0]} {problems[0][1]}")
    return int(params[PARAM])


@dataclass(frozen=True)
class Decision:
    """Where the re-tests of one positive screen stand."""

    screen_id: int
    sample_id: int
    state: str | None          # None: its method asks for no re-test (final at once)
    required: int
    confirming: int            # positive re-tests so far (up to ``required``)
    at: datetime               # when it became final or was decided (else the screen's time)
    deciding_result_id: int | None = None
    changed: bool = False      # this call changed the sample's state

    @property
    def final(self) -> bool:
        """The positive is final: its case and alert open now."""
        return self.state in (None, RetestState.CONFIRMED.value)

    @property
    def remaining(self) -> int:
        return max(0, self.required - self.confirming) if self.state == "pending" else 0


def preload(session: Session, screens: list[TestResult]) -> dict[int, list[TestResult]]:
    """What ``decide`` reads for many screens, in a few queries instead of some per screen:
    their samples and methods (into the session) and their counted re-tests, in test order."""
    ids = sorted({s.id for s in screens})
    out: dict[int, list] = {i: [] for i in ids}
    keep = out.setdefault(-1, [])   # the session holds loaded rows weakly: keep them here
    for model, col in ((Sample, "sample_id"), (Method, "method_id")):
        want = sorted({getattr(s, col) for s in screens})
        for i in range(0, len(want), 500):
            keep.extend(session.exec(select(model).where(among(session, model.id, want[i:i + 500]))))
    for i in range(0, len(ids), 500):
        for r in session.exec(select(TestResult).where(
                among(session, TestResult.retest_of_id, ids[i:i + 500]),
                TestResult.status.in_(COUNTED))
                .order_by(TestResult.tested_at, TestResult.id)):
            out[r.retest_of_id].append(r)
    return out


def _retests(session: Session, screen: TestResult,
             preloaded: dict[int, list[TestResult]] | None = None) -> list[TestResult]:
    if preloaded is not None and screen.id in preloaded:
        return [r for r in preloaded[screen.id] if r.sample_id == screen.sample_id
                and r.method_id == screen.method_id and r.analyte_id == screen.analyte_id]
    analyte = (TestResult.analyte_id.is_(None) if screen.analyte_id is None
               else TestResult.analyte_id == screen.analyte_id)
    return list(session.exec(select(TestResult).where(
        TestResult.retest_of_id == screen.id, TestResult.sample_id == screen.sample_id,
        TestResult.method_id == screen.method_id, analyte, TestResult.status.in_(COUNTED))
        .order_by(TestResult.tested_at, TestResult.id)))


def _walk(session: Session, screen: TestResult, required: int,
          preloaded: dict[int, list[TestResult]] | None = None
          ) -> tuple[str, int, datetime, TestResult | None]:
    confirming = 0
    for r in _retests(session, screen, preloaded):
        if r.verdict == INVALID:
            continue
        if r.verdict != POSITIVE:
            return RetestState.NOT_CONFIRMED.value, confirming, r.tested_at, r
        confirming += 1
        if confirming >= required:
            return RetestState.CONFIRMED.value, confirming, r.tested_at, r
    return RetestState.PENDING.value, confirming, screen.tested_at, None


def decide(*, session: Session, actor: Actor, screen: TestResult,
           preloaded: dict[int, list[TestResult]] | None = None,
           flush: bool = True) -> Decision | None:
    """Bring the sample of a positive first screen up to date with its re-tests (audited).

    None when ``screen`` is not a counted positive first screen of a rapid method (held, voided,
    not positive, a re-test itself). ``preloaded``: from ``preload`` for a batch of screens;
    ``flush=False``: the caller flushes the changed sample before it reads samples with SQL.
    """
    if (screen.verdict != POSITIVE or screen.retest_of_id is not None
            or screen.status not in COUNTED):
        return None
    method = session.get(Method, screen.method_id)
    sample = session.get(Sample, screen.sample_id)
    if method is None or sample is None or not method.is_rapid:
        return None
    if sample.retest_state is None:
        required = retests_required(method)
        if required == 0:
            return Decision(screen.id, sample.id, None, 0, 0, screen.tested_at, screen.id)
    else:
        required = sample.retests_required or 0
    state, confirming, at, deciding = _walk(session, screen, required, preloaded)
    old = sample.retest_state
    if old in DECIDED:   # decided once: stays (its case, if any, is open)
        state = old
    changed = state != old
    if changed:
        sample.retest_state, sample.retests_required = state, required
        session.add(sample)
        if flush:
            session.flush()
        audit.record(session=session, actor=actor, action=f"sample.retest_{state}",
                     entity="sample", entity_id=sample.id,
                     old={"retest_state": old},
                     new={"retest_state": state, "retests_required": required,
                          "confirming": confirming, "screen_id": screen.id,
                          "deciding_result_id": deciding.id if deciding else None},
                     reason=_reason(state, screen, required, confirming, deciding))
    return Decision(screen.id, sample.id, state, required, confirming, at,
                    deciding.id if deciding else None, changed)


def _reason(state: str, screen: TestResult, required: int, confirming: int,
            deciding: TestResult | None) -> str:
    if state == RetestState.PENDING.value:
        return (f"positive screen #{screen.id}: {required} re-test(s) needed before a case "
                f"opens, {confirming} so far")
    if state == RetestState.CONFIRMED.value:
        return (f"{confirming} re-test(s) confirmed the positive screen #{screen.id} "
                f"(last: #{deciding.id if deciding else '?'}): the case opens")
    return (f"re-test #{deciding.id if deciding else '?'} is {deciding.verdict if deciding else '?'}"
            f": the positive screen #{screen.id} is not confirmed; no case, no alert")


# --------------------------------------------------------------------------- views

@dataclass(frozen=True)
class RetestStatus:
    """What the stand shows of a sample's re-tests (``state`` None: nothing to re-test)."""

    sample_code: str
    state: str | None
    required: int
    confirming: int
    remaining: int
    screen_id: int | None
    deciding_result_id: int | None
    label_zh: str
    label_en: str


def _screen_of(session: Session, sample: Sample) -> TestResult | None:
    return session.exec(select(TestResult).where(
        TestResult.sample_id == sample.id, TestResult.retest_of_id.is_(None),
        TestResult.verdict == POSITIVE, TestResult.status.in_(COUNTED))
        .order_by(TestResult.tested_at, TestResult.id)).first()


def _status(session: Session, sample: Sample) -> RetestStatus:
    screen = _screen_of(session, sample) if sample.retest_state else None
    if screen is None:
        return RetestStatus(sample.code, None, 0, 0, 0, None, None, "", "")
    required = sample.retests_required or 0
    walked, confirming, _at, deciding = _walk(session, screen, required)
    state = sample.retest_state
    remaining = max(0, required - confirming) if state == RetestState.PENDING.value else 0
    zh, en = LABELS.get(state, ("", ""))
    return RetestStatus(sample.code, state, required, confirming, remaining, screen.id,
                        deciding.id if deciding and walked == state else None,
                        zh.format(n=remaining), en.format(n=remaining))


def status(*, session: Session, sample_code: str | None = None,
           sample_id: int | None = None) -> RetestStatus:
    """The re-test state of one sample, by code or id (for the field page and the slip)."""
    sample = (session.get(Sample, sample_id) if sample_id is not None else
              session.exec(select(Sample).where(
                  Sample.code == (sample_code or "").strip().upper())).first())
    if sample is None:
        raise NotFound(f"no sample {sample_code or sample_id!r}")
    return _status(session, sample)


def pending(*, session: Session, market_id: int | None = None,
            limit: int = 200) -> list[RetestStatus]:
    """Samples waiting for re-tests, oldest first (of one market, or of all)."""
    q = select(Sample).where(Sample.retest_state == RetestState.PENDING.value)
    if market_id is not None:
        q = q.where(Sample.market_id == market_id)
    return [_status(session, s) for s in session.exec(q.order_by(Sample.taken_at, Sample.id)
                                                      .limit(limit))]
