"""Staged imports: a file's results become visible all at once (issue 18).

A file of more than one chunk is stored in bounded transactions (``lims.files.import_stream``)
so that instrument listeners get the write lock in between. Each chunk goes through the one
intake pipeline with ``stage=<file SHA-256>``: its new results are judged, gated, sealed and
stored like any other, but with status ``staged`` — counted in no pass rate, shown on no board,
list, export or public page, pushed to no central server — and their real status waits in
``import_stage``. Nothing else is set in motion for them yet (no case, alert or regrade).

* ``publish`` — once every chunk is in, one transaction gives every staged result of the file its
  real status and pass-rate flags (worked out when its chunk was stored, when it was also sealed
  with that status: ``lims.intake.staging``; one UPDATE … FROM), adds the counted ones to the
  rollups (samples that had results before the import are counted again,
  ``counting.recount``) and marks them ``published``.
  Readers see none of the file before this commit and all of it after.
* ``follow_up_published`` — then the follow-up a batch gets in the pipeline (cases, alerts to
  the grid group, re-test decisions, vendor grades, a kit lot's agreement) runs in chunks of
  ``FOLLOW_UP_CHUNK``, each committed with the deletion of its ``import_stage`` rows: exactly
  once, and a crash in between leaves the rest for the next import (or ``lims results
  import-staged finish``) to complete.
* A crash before the publish leaves staged rows that nobody sees. Importing the same file again
  finds them (same ingest keys: duplicates), stores the rest and publishes all of it;
  ``discard`` voids them instead (kept, never deleted, as every result).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from lims.errors import InvalidInput
from lims.intake import counting, rollups
from lims.models import ImportStage, Sample, TestResult
from lims.models.enums import ResultStatus
from lims.security import audit, seals
from lims.security.auth import Actor, require
from lims.storage.engine import begin_write

STAGED, PUBLISHED = "staged", "published"
PUBLISH, DISCARD = "results.import.publish", "results.import.discard"
#: results per re-seal audit event when staged results are discarded (voided)
RESEAL_CHUNK = 5000
#: counted results added to the rollups per step of the publish (bounded memory)
APPLY_CHUNK = 20_000
#: results followed up per transaction after the publish
FOLLOW_UP_CHUNK = 1000
_S = ImportStage.__table__
_T = TestResult.__table__
_SA = Sample.__table__
_IN = 500   # ids per IN (…): SQLite's limit on bound variables


@dataclass
class Pending:
    """Staged or published-but-not-followed-up results of one import."""

    import_sha: str
    phase: str
    results: int

    def to_dict(self) -> dict:
        return {"import_sha": self.import_sha, "phase": self.phase, "results": self.results}


def pending(session: Session) -> list[Pending]:
    """What waits, per import and phase (oldest result first)."""
    s = _S.c
    rows = session.execute(sa.select(s.import_sha, s.phase, sa.func.count(),
                                     sa.func.min(s.result_id))
                           .group_by(s.import_sha, s.phase)).all()
    return [Pending(sha, phase, n) for sha, phase, n, _first in sorted(rows, key=lambda r: r[3])]


def staged_count(session: Session, import_sha: str) -> int:
    s = _S.c
    return session.execute(sa.select(sa.func.count()).where(
        s.import_sha == import_sha, s.phase == STAGED)).scalar_one()


def first_staged_id(session: Session) -> int | None:
    """The lowest id of a result not published yet (a sync push stops before it)."""
    return session.execute(sa.select(sa.func.min(_S.c.result_id))
                           .where(_S.c.phase == STAGED)).scalar()


def _staged_ids(session: Session, import_sha: str) -> list[int]:
    """(Locked on PostgreSQL: a second publisher of the same file waits, then finds none.)"""
    s = _S.c
    return list(session.execute(sa.select(s.result_id).where(
        s.import_sha == import_sha, s.phase == STAGED).order_by(s.result_id)
        .with_for_update()).scalars())


def publish(*, session: Session, actor: Actor, import_sha: str, name: str = "",
            progress: Callable[[str, int], None] | None = None) -> int:
    """Make every staged result of the import visible in this transaction (the caller commits).
    Returns how many.

    Set-based: what each result becomes was worked out when its chunk was stored
    (``lims.intake.staging``, which also sealed it with that status): one UPDATE … FROM gives
    the results their status and pass-rate flags; the counted ones are added to the rollups
    ``APPLY_CHUNK`` at a time; only samples that had results before the import are counted
    again from the table."""
    require(actor, "results.import")
    begin_write(session)
    s = _S.c
    mine = sa.and_(s.import_sha == import_sha, s.phase == STAGED)
    n, first, last = session.execute(sa.select(sa.func.count(), sa.func.min(s.result_id),
                                               sa.func.max(s.result_id)).where(mine)).one()
    if not n:
        return 0
    session.execute(_T.update()   # UPDATE … FROM: one statement on SQLite and PostgreSQL
                    .where(_T.c.id == s.result_id, mine,
                           _T.c.status == ResultStatus.STAGED.value)
                    .values(status=s.status, counts=s.counts, count_date=s.count_date,
                            count_week=s.count_week))
    # (no re-seal: each row was sealed with this status when it was stored, lims.intake.staging)
    t = _T.c
    after = 0
    while True:   # the counted ones into the rollups, APPLY_CHUNK at a time (memory bounded)
        rows = session.execute(
            sa.select(s.result_id, t.market_id, s.count_date, s.count_week, t.commodity_id,
                      t.analyte_id, t.verdict, _SA.c.vendor_id)
            .select_from(_S.join(_T, t.id == s.result_id).join(_SA, _SA.c.id == t.sample_id))
            .where(mine, s.counts, s.result_id > after).order_by(s.result_id)
            .limit(APPLY_CHUNK)).mappings().all()
        if not rows:
            break
        rollups.apply(session=session, added=[counting.counted_of(r) for r in rows])
        after = rows[-1]["result_id"]
    again = set(session.execute(sa.select(t.sample_id).distinct()
                                .select_from(_S.join(_T, t.id == s.result_id))
                                .where(mine, s.recount)).scalars())
    if again:   # samples with results from before the import: counted again from the table
        removed, more = counting.recount(session=session, sample_ids=again)
        rollups.apply(session=session, added=more, removed=removed)
    session.execute(_S.update().where(mine).values(phase=PUBLISHED))
    audit.record(session=session, actor=actor, action=PUBLISH, entity="test_result",
                 entity_id=(name or import_sha)[:60],
                 new={"sha256": import_sha, "results": n, "first": first, "last": last})
    if progress:
        progress("published", n)
    return n


@dataclass
class FollowedUp:
    results: int = 0
    cases: int = 0
    alerts: int = 0


def follow_up_published(*, session: Session, actor: Actor, chunk: int = FOLLOW_UP_CHUNK,
                        progress: Callable[[str, int], None] | None = None) -> FollowedUp:
    """Run the pipeline's follow-up for every published result still waiting for it, ``chunk``
    results per committed transaction (any import's: a crash may have left some)."""
    out = FollowedUp()
    s = _S.c
    while True:
        waiting = sa.select(s.result_id).where(s.phase == PUBLISHED)
        if session.execute(waiting.limit(1)).first() is None:   # (no write lock taken)
            return out
        begin_write(session)   # then read again: another importer finishing them waits
        ids = list(session.execute(waiting.order_by(s.result_id).limit(chunk)
                                   .with_for_update(skip_locked=True)).scalars())
        if not ids:
            return out
        cases, alerts = _follow_up(session, actor, ids)
        session.execute(_S.delete().where(s.result_id.in_(ids), s.phase == PUBLISHED))
        session.commit()
        out.results += len(ids)
        out.cases += cases
        out.alerts += alerts
        if progress:
            progress("followed up", out.results)


def _follow_up(session: Session, actor: Actor, ids: list[int]) -> tuple[int, int]:
    """What the pipeline runs for results stored earlier that waited for it (the same as for
    an accepted or released result): cases, alerts, re-test decisions, grades, a kit lot's
    agreement. Returns (cases, alerts) opened."""
    from lims.intake.pipeline import follow_up_results

    fu = follow_up_results(session=session, actor=actor, result_ids=ids)
    if fu is None:
        return 0, 0
    return len(set(fu.case_ids.values())), len(set(fu.alert_ids.values()))


def discard(*, session: Session, actor: Actor, import_sha: str, reason: str) -> int:
    """Void the staged results of an import that will not be completed (kept, never deleted;
    they were never counted, so no rollup changes). The caller commits. Returns how many."""
    require(actor, "results.review")
    if not reason or not reason.strip():
        raise InvalidInput("reason: say why the staged results of this import are discarded")
    begin_write(session)
    ids = _staged_ids(session, import_sha)
    if not ids:
        return 0
    for i in range(0, len(ids), _IN):
        session.execute(_T.update().where(_T.c.id.in_(ids[i:i + _IN]),
                                          _T.c.status == ResultStatus.STAGED.value)
                        .values(status=ResultStatus.VOIDED.value))
    for i in range(0, len(ids), RESEAL_CHUNK):
        seals.reseal(session, actor, ids[i:i + RESEAL_CHUNK], reason=reason.strip())
    session.execute(_S.delete().where(_S.c.import_sha == import_sha, _S.c.phase == STAGED))
    audit.record(session=session, actor=actor, action=DISCARD, entity="test_result",
                 entity_id=import_sha[:60], new={"sha256": import_sha, "results": len(ids)},
                 reason=reason.strip())
    return len(ids)
