"""Review of results the calibration gate held: accept with a reason, or void with a reason.

A held result is stored but kept out of pass rates (``lims.reporting.stats.COUNTED_STATUSES``)
and opens no case or alert. Accepting it makes it count and runs its follow-up then; voiding it
keeps it out for good (results are never deleted). Each
decision is an AuditEvent and refreshes the pass-rate rollups of the result's market and week.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from lims.errors import Conflict, NotFound, RowError, ValidationFailed
from lims.intake import rollups
from lims.intake.pipeline import follow_up_results
from lims.models import Commodity, Instrument, Market, Method, Sample, TestResult
from lims.models.enums import ResultStatus
from lims.models.results import IS_HELD
from lims.security import audit, seals
from lims.security.auth import Actor, require

_T = TestResult.__table__.c


def held(*, session: Session, instrument_serial: str | None = None, limit: int = 500,
         ) -> list[dict[str, Any]]:
    """Held results, oldest first, with what a reviewer needs to decide."""
    i, s, c, me, m = (Instrument.__table__.c, Sample.__table__.c, Commodity.__table__.c,
                      Method.__table__.c, Market.__table__.c)
    conn = session.connection()
    # the oldest held results picked from the results table alone (partial index on held
    # results by tested_at, or by instrument), then joined: joined to the methods first, SQLite
    # read every held result of each method and sorted them (16 s at 10 M results)
    first = sa.select(_T.id).where(_T.status == IS_HELD)
    release = list(conn.execute(sa.select(me.id).where(me.requires_release.is_(True))).scalars())
    if release:   # awaiting a second person's release: lims.lab.release
        first = first.where(_T.method_id.not_in(release))
    if instrument_serial:
        iid = conn.execute(sa.select(i.id).where(i.serial_no == instrument_serial)).scalar()
        if iid is None:
            return []
        first = first.where(_T.instrument_id == iid)
    first = first.order_by(_T.tested_at, _T.id).limit(limit)
    q = (sa.select(_T.id, _T.tested_at, _T.verdict, _T.computed_value, _T.computed_unit,
                   _T.calibration_state, _T.channel, i.serial_no, me.code.label("method"),
                   s.code.label("sample"), c.name_en.label("commodity"),
                   m.name.label("market"))
         .select_from(TestResult.__table__)
         .join(Commodity.__table__, _T.commodity_id == c.id)
         .join(Method.__table__, _T.method_id == me.id)
         .join(Sample.__table__, _T.sample_id == s.id)
         .outerjoin(Instrument.__table__, _T.instrument_id == i.id)
         .outerjoin(Market.__table__, _T.market_id == m.id)
         .where(_T.id.in_(first.scalar_subquery()))
         .order_by(_T.tested_at, _T.id))
    return [dict(r._mapping) for r in conn.execute(q)]


def _decide(session: Session, actor: Actor, result_id: int, reason: str,
            new_status: ResultStatus) -> TestResult:
    require(actor, "results.review")
    if not reason or not reason.strip():
        raise ValidationFailed([RowError(result_id, "reason",
                                         f"a reason is required to {new_status.value[:-2]} "
                                         "a held result")], "review")
    tr = session.get(TestResult, result_id)
    if tr is None:
        raise NotFound(f"no test result with id {result_id}")
    if tr.status != ResultStatus.HELD.value:
        raise Conflict(f"result {result_id} is {tr.status}, not held: only held results are "
                        "reviewed here")
    if new_status is ResultStatus.ACCEPTED and session.get(Method, tr.method_id).requires_release:
        raise Conflict(f"result {result_id} awaits second-person release: a second user "
                       "releases it in the release queue (lims release approve)")
    old = tr.status
    tr.status = new_status.value
    tr.verdict_reasons = [*tr.verdict_reasons,
                          f"{new_status.value} by {actor.username}: {reason.strip()}"]
    session.add(tr)
    session.flush()
    audit.record(session=session, actor=actor, action=f"result.{new_status.value[:-2]}",
                 entity="test_result", entity_id=tr.id,
                 old={"status": old, "calibration_state": tr.calibration_state},
                 new={"status": tr.status}, reason=reason.strip())
    seals.reseal(session, actor, [tr.id], reason=reason.strip())
    rollups.refresh(session=session, keys={(tr.market_id, tr.week_start)})
    return tr


def accept(*, session: Session, actor: Actor, result_id: int, reason: str) -> TestResult:
    """Accept a held result: it counts in pass rates from now on, and the follow-up it waited
    for runs now (a final positive opens its case, a re-test may confirm its screen, alerts,
    grades; ``lims.enforcement.followup``)."""
    tr = _decide(session, actor, result_id, reason, ResultStatus.ACCEPTED)
    follow_up_results(session=session, actor=actor, result_ids=[tr.id])
    return tr


def void(*, session: Session, actor: Actor, result_id: int, reason: str) -> TestResult:
    """Void a held result: kept, never counted."""
    return _decide(session, actor, result_id, reason, ResultStatus.VOIDED)


def release_status(*, session: Session, actor: Actor, result: TestResult, note: str) -> TestResult:
    """A second user released a held result (``lims.lab.release``, which checks and audits):
    it counts from now on (status accepted)."""
    result.status = ResultStatus.ACCEPTED.value
    result.verdict_reasons = [*result.verdict_reasons, note]
    session.add(result)
    session.flush()
    seals.reseal(session, actor, [result.id], reason=note)   # status is sealed content
    return result
