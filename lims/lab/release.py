"""Second-person release (issue 19; SENAITE's multi-verification, OpenELIS's validation).

A method whose reference data says ``requires_release`` (the confirmatory lab methods as
shipped; never a field screen) has each result stored HELD with the reason
``lims.intake.gate.RELEASE_HOLD``: like any held result it does not count in pass rates, the
public page says it awaits review, and it opens or decides no case. A second user — not the one
who recorded it, nor one who corrected it — releases it (permission ``results.release``): it
counts from then on and its follow-up runs, as ``lims.intake.review.accept`` does (a final
positive opens its case, a lab re-test decides its case's outcome, alerts, grades). The releaser
may instead send it back with a reason: it stays held and returns to its recorder, who corrects
it (``lims.intake.corrections.correct_result``) or voids it; once corrected it waits again.

Every step is an audit event: ``result.release`` (the lab test report prints its actor as "who
released it", ``lims.lab.reports``) and ``result.send_back``. The queue's state comes from the
events, so sending back changes nothing in the result row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import Conflict, NotFound, RowError, ValidationFailed
from lims.intake import review, rollups
from lims.intake.gate import RELEASE_HOLD
from lims.intake.pipeline import follow_up_results
from lims.models import Analyte, AuditEvent, Commodity, Method, Sample, TestResult
from lims.models.enums import ResultStatus
from lims.models.results import IS_HELD
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import now

PERMISSION = "results.release"
RELEASE, SEND_BACK, CORRECT = "result.release", "result.send_back", "result.correct"
WAITING, SENT_BACK = "waiting", "sent_back"
__all__ = ["PERMISSION", "RELEASE_HOLD", "pending", "release", "send_back"]


def _same_person(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip().casefold() == b.strip().casefold()


def _events(session: Session, ids: list[int]) -> dict[int, list[AuditEvent]]:
    """Send-back and correction events of the results, oldest first."""
    out: dict[int, list[AuditEvent]] = {}
    for i in range(0, len(ids), 500):
        for ev in session.exec(select(AuditEvent).where(
                AuditEvent.entity == "test_result",
                AuditEvent.entity_id.in_([str(x) for x in ids[i:i + 500]]),
                AuditEvent.action.in_((SEND_BACK, CORRECT))).order_by(AuditEvent.id)):
            out.setdefault(int(ev.entity_id), []).append(ev)
    return out


def _state(events: list[AuditEvent]) -> tuple[str, AuditEvent | None, datetime | None]:
    """(waiting | sent_back, the last send-back, when it was last corrected)."""
    last_back = next((e for e in reversed(events) if e.action == SEND_BACK), None)
    last_fix = next((e for e in reversed(events) if e.action == CORRECT), None)
    if last_back is not None and (last_fix is None or last_fix.id < last_back.id):
        return SENT_BACK, last_back, None
    return WAITING, last_back, last_fix.at if last_fix is not None else None


def pending(*, session: Session, at: datetime | None = None, recorder: str | None = None,
            include_sent_back: bool = True, limit: int = 500) -> list[dict[str, Any]]:
    """Results awaiting release, oldest first, each with how long it has waited (``age_hours``
    at ``at``, default now: since it was stored, or since its last correction) and its state:
    ``waiting`` or ``sent_back`` (with who sent it back and why). ``recorder`` narrows the list
    to one recorder's results (what was sent back to them)."""
    at = at or now()
    t, me, s, c, a = (TestResult.__table__.c, Method.__table__.c, Sample.__table__.c,
                      Commodity.__table__.c, Analyte.__table__.c)
    ids = list(session.connection().execute(sa.select(me.id).where(me.requires_release.is_(True)))
               .scalars())
    if not ids:
        return []
    q = (sa.select(t.id, t.tested_at, t.tested_by, t.created_at, t.verdict, t.computed_value,
                   t.computed_unit, t.verdict_reasons, me.code.label("method"),
                   s.code.label("sample"), c.name_zh.label("commodity_zh"),
                   c.name_en.label("commodity_en"), a.name_zh.label("analyte_zh"),
                   a.name_en.label("analyte_en"))
         .select_from(TestResult.__table__)
         .join(Method.__table__, t.method_id == me.id)
         .join(Sample.__table__, t.sample_id == s.id)
         .join(Commodity.__table__, t.commodity_id == c.id)
         .outerjoin(Analyte.__table__, t.analyte_id == a.id)
         .order_by(t.created_at, t.id))
    # the oldest held results of those methods, picked from the partial index alone, then
    # joined (joining first read and sorted every waiting result: 30 000 at 10 M results)
    first = (sa.select(t.id).where(t.status == IS_HELD, t.method_id.in_(ids))
             .order_by(t.created_at, t.id).limit(limit))
    if recorder:
        first = first.where(sa.func.lower(t.tested_by) == recorder.strip().lower())
    q = q.where(t.id.in_(first.scalar_subquery()))
    rows = [dict(r._mapping) for r in session.connection().execute(q)]
    events = _events(session, [r["id"] for r in rows])
    out = []
    for r in rows:
        state, back, fixed_at = _state(events.get(r["id"], []))
        if state == SENT_BACK and not include_sent_back:
            continue
        since = max(r["created_at"], fixed_at) if fixed_at else r["created_at"]
        r.update(state=state, waiting_since=since,
                 age_hours=round(max((at - since).total_seconds(), 0) / 3600, 1),
                 sent_back_by=back.actor if back else "",
                 sent_back_reason=back.reason if back else "",
                 other_holds=[x for x in r.pop("verdict_reasons") or []
                              if x.startswith("held:") and x != RELEASE_HOLD])
        out.append(r)
    return out


def _awaiting(session: Session, result_id: int) -> tuple[TestResult, Method]:
    tr = session.get(TestResult, result_id)
    if tr is None:
        raise NotFound(f"no test result with id {result_id}")
    method = session.get(Method, tr.method_id)
    if tr.status != ResultStatus.HELD.value or not method.requires_release:
        raise Conflict(f"result {result_id} is {tr.status}, not awaiting second-person release")
    return tr, method


def _reason(result_id: int, reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed([RowError(result_id, "reason",
                                         f"a reason is required to {what} a result")], "release")
    if len(text) > 1000:
        raise ValidationFailed([RowError(result_id, "reason", "at most 1000 characters")],
                               "release")
    return text


def release(*, session: Session, actor: Actor, result_id: int, reason: str = "") -> TestResult:
    """Release a result awaiting it: it counts from now on and its follow-up runs.

    Refused (PermissionDenied) to a user without ``results.release``, and (Conflict) to the user
    who recorded it or corrected it, and while it is sent back and not yet corrected."""
    require(actor, PERMISSION)
    tr, method = _awaiting(session, result_id)
    events = _events(session, [tr.id]).get(tr.id, [])
    if _same_person(actor.username, tr.tested_by):
        raise Conflict(f"result {result_id} was recorded by {tr.tested_by}: a second person "
                       "must release it (second-person release)")
    if any(e.action == CORRECT and _same_person(e.actor, actor.username) for e in events):
        raise Conflict(f"result {result_id} was corrected by {actor.username}: a second person "
                       "must release it (second-person release)")
    state, back, _ = _state(events)
    if state == SENT_BACK:
        raise Conflict(f"result {result_id} was sent back to {tr.tested_by or 'its recorder'} "
                       f"by {back.actor} ({back.reason}); it can be released once corrected")
    why = (reason or "").strip()[:1000]
    old = tr.status
    note = f"released by {actor.username}" + (f": {why}" if why else "")
    review.release_status(session=session, actor=actor, result=tr, note=note)
    follow_up_results(session=session, actor=actor, result_ids=[tr.id])
    audit.record(session=session, actor=actor, action=RELEASE, entity="test_result",
                 entity_id=tr.id, old={"status": old},
                 new={"status": tr.status, "method": method.code, "tested_by": tr.tested_by},
                 reason=why)
    rollups.refresh(session=session, keys={(tr.market_id, tr.week_start)})
    return tr


def send_back(*, session: Session, actor: Actor, result_id: int, reason: str) -> TestResult:
    """Send a result awaiting release back to its recorder for correction (a reason is
    required). It stays held; once corrected it waits for release again."""
    require(actor, PERMISSION)
    why = _reason(result_id, reason, "send back")
    tr, method = _awaiting(session, result_id)
    state, _, _ = _state(_events(session, [tr.id]).get(tr.id, []))
    if state == SENT_BACK:
        raise Conflict(f"result {result_id} was sent back already and is not corrected yet")
    audit.record(session=session, actor=actor, action=SEND_BACK, entity="test_result",
                 entity_id=tr.id, old={"status": tr.status},
                 new={"status": tr.status, "to": tr.tested_by, "method": method.code},
                 reason=why)
    return tr
