"""What a staged result will be once its import is published (issue 18).

A multi-chunk file import stores its results with status ``staged`` (``lims.files
.import_publish``). So that the publish is a few set-based statements instead of O(rows) of
Python under the write lock, each chunk works out here, in its own transaction, what the publish
will write for each of its results and keeps it in ``import_stage``:

* ``status`` — the status the pipeline gave it (recorded, held …);
* ``staged_seal`` / ``final_seal`` — its seal as stored (status ``staged``) and with that status:
  the publish swaps them and chains ``[id, staged_seal, final_seal]`` as ``result.reseal``
  events, exactly what ``seals.reseal`` would write;
* ``counts`` / ``count_date`` / ``count_week`` — its pass-rate flags (``lims.intake.counting``)
  once published, for a sample this chunk created: every result of such a sample is in the
  chunk (a chunk keeps one sample's readings together), so the rule is applied here. A result of
  a sample that existed before the chunk (a re-test of an earlier sample, or a new code used
  again in a later chunk) is marked ``recount``: the publish counts its sample again from the
  table (``counting.recount``), as a review would.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from lims.intake.counting import COUNTED_STATUSES
from lims.models import ImportStage
from lims.security.seals import SEALED, content_hash

_I_STATUS = SEALED.index("status")


def _final_seal(row: dict, status: str) -> str:
    values = [row.get(n) for n in SEALED]
    values[_I_STATUS] = status
    return content_hash(values)


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
         "staged_seal": row["seal"], "final_seal": _final_seal(row, st),
         "counts": flags.get(k, (False,))[0], "count_date": flags.get(k, (0, None))[1],
         "count_week": flags.get(k, (0, None, None))[2], "recount": k not in flags}
        for k, (row, rid, st) in enumerate(zip(rows, result_ids, statuses, strict=True))])
