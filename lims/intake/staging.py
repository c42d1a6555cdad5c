"""What a staged result will be once its import is published (issue 18).

A multi-chunk file import stores its results with status ``staged`` (``lims.files
.import_publish``). So that the publish is a few set-based statements instead of O(rows) of
Python under the write lock, each chunk works out here, in its own transaction, what the publish
will write for each of its results and keeps it in ``import_stage``:

* ``status`` — the status the pipeline gave it (recorded, held …). The row is **sealed with that
  status** (``final_seal``), not with ``staged``: its seal, chained by the batch's
  ``result.seal`` event, is what it will be once published, so the publish changes no seal and
  writes no re-seal; ``lims.security.seals.verify`` checks a staged row with the status waiting
  here (an edited ``import_stage.status`` is caught after the publish: the row no longer
  matches its chained seal);
* ``counts`` / ``count_date`` / ``count_week`` — its pass-rate flags (``lims.intake.counting``)
  once published, for a sample this chunk created: every result of such a sample is in the
  chunk (a chunk keeps one sample's readings together), so the rule is applied here. A result of
  a sample that existed before the chunk (a re-test of an earlier sample, or a new code used
  again in a later chunk) is marked ``recount``: the publish counts its sample again from the
  table (``counting.recount``), as a review would.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session

from lims.intake.counting import COUNTED_STATUSES
from lims.models import ImportStage, TestResult
from lims.models.enums import ResultStatus
from lims.security.seals import SEALED, content_hash


def final_seal(row: dict, status: str) -> str:
    """The seal of a new result row (stored ``staged``) as it will be published: with
    ``status``, the status the pipeline gave it."""
    return content_hash([status if n == "status" else row.get(n) for n in SEALED])


def prepare(rows: list[dict]) -> list[str]:
    """Before the insert: take each staged row's real status out of it (``staged_as``, set by
    the pipeline) and seal the row with it. Returns the statuses, in order."""
    statuses = [row.pop("staged_as") for row in rows]
    for row, st in zip(rows, statuses, strict=True):
        row["seal"] = final_seal(row, st)
    return statuses


def stage_results(session: Session, import_sha: str, rows: list[dict], result_ids: list[int],
                  statuses: list[str], new_sample_ids: set[int],
                  rapid: dict[int, bool]) -> None:
    """Keep in ``import_stage`` what the publish will write for these just-inserted staged
    results (``rows`` as inserted, their ids, the statuses they will get, the ids of the samples
    this chunk created, and is_rapid per method id). One batch insert."""
    if not result_ids:
        return
    flags: dict[int, tuple[bool, date | None, date | None]] = {}
    by_sample: dict[int, list[int]] = {}
    for k, row in enumerate(rows):
        if row["sample_id"] in new_sample_ids:
            by_sample.setdefault(row["sample_id"], []).append(k)
    for ks in by_sample.values():   # counting's rule (lims.intake.counting.recount)
        day = min(rows[k]["local_date"] for k in ks)
        week = min(rows[k]["week_start"] for k in ks)
        candidates = [k for k in ks if statuses[k] in COUNTED_STATUSES]
        final = max(candidates, key=lambda k: (not rapid[rows[k]["method_id"]],
                                               rows[k]["tested_at"], result_ids[k]),
                    default=None)
        for k in ks:
            flags[k] = (True, day, week) if k == final else (False, None, None)
    session.execute(ImportStage.__table__.insert(), [
        {"result_id": rid, "import_sha": import_sha, "status": st, "phase": "staged",
         "counts": flags.get(k, (False,))[0], "count_date": flags.get(k, (0, None))[1],
         "count_week": flags.get(k, (0, None, None))[2], "recount": k not in flags}
        for k, (row, rid, st) in enumerate(zip(rows, result_ids, statuses, strict=True))])


def hold_for_qc(session: Session, instrument_id: int, start: datetime, end: datetime,
                reason: str) -> list[int]:
    """A rejected daily QC run was just recorded: the instrument's staged results tested in
    [``start``, ``end``) that were to be published ``recorded`` will be published ``held``, with
    ``reason`` among their reasons, as the day's stored results are held. Their samples are
    counted again at the publish (a held result does not count; another of its sample may).
    Returns their ids; the caller re-seals them (``seals.reseal`` seals a staged row with the
    status waiting here)."""
    t, s = TestResult.__table__.c, ImportStage.__table__.c
    rows = session.execute(
        sa.select(t.id, t.sample_id, t.verdict_reasons)
        .select_from(TestResult.__table__.join(ImportStage.__table__, s.result_id == t.id))
        .where(t.instrument_id == instrument_id, t.status == ResultStatus.STAGED.value,
               t.tested_at >= start, t.tested_at < end, s.phase == "staged",
               s.status == ResultStatus.RECORDED.value)).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    for i in range(0, len(ids), 500):
        session.execute(ImportStage.__table__.update().where(s.result_id.in_(ids[i:i + 500]))
                        .values(status=ResultStatus.HELD.value))
    session.execute(TestResult.__table__.update().where(t.id == sa.bindparam("_id"))
                    .values(verdict_reasons=sa.bindparam("_why", type_=t.verdict_reasons.type)),
                    [{"_id": r.id, "_why": [*(r.verdict_reasons or []), reason]} for r in rows])
    samples = sorted({r.sample_id for r in rows})
    for i in range(0, len(samples), 500):
        session.execute(ImportStage.__table__.update().where(
            s.phase == "staged", s.result_id.in_(sa.select(t.id).where(
                t.sample_id.in_(samples[i:i + 500])))).values(
            counts=False, count_date=None, count_week=None, recount=True))
    return ids
