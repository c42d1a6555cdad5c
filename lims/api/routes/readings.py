"""``POST /api/v1/readings``: a station uploads readings, all or nothing.

Each item is a ``ReadingCreate`` (the import's columns); a ``tested_at`` without an offset is
local time (``LIMS_TIMEZONE``). The batch goes through the one intake function,
``lims.intake.pipeline.accept_readings`` (verdict, calibration gate, idempotent store, rollups,
case, alert, grade), in one transaction, acting as the token's station (``station:NAME``). Any
bad item — refused by the request schema, by the API's own checks (``lims.api.checks``) or by
the pipeline — answers 422 with every problem as ``{"index", "field", "message"}`` and stores
nothing. A reading stored before (the same ingest key) answers ``"duplicate"`` and is not
stored again. The results stored are the token's station's (``ResultOwner``): only it may send
changes to them (``POST /api/v1/changes``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from lims import gcpause
from lims.api.checks import check_batch
from lims.api.deps import caller_with, engine_of
from lims.api.errors import ErrorBody, ItemErrors, refused
from lims.api.schemas import ReadingBatch, ReadingsAnswer
from lims.api.tokens import Caller
from lims.errors import RowError, ValidationFailed
from lims.intake.pipeline import accept_readings
from lims.reference.lookup import RefCache
from lims.settings import load_settings
from lims.sync.apply import record_owners
from lims.timeutil import aware, local_tz, now
from lims.wire.readings import ReadingAccepted

router = APIRouter(tags=["readings"])


@router.post(
    "/readings", response_model=ReadingsAnswer,
    summary="Store readings (all or nothing)",
    responses={
        400: {"model": ErrorBody, "description": "bad JSON (the error names line and column)"},
        401: {"model": ErrorBody, "description": "missing, unknown or revoked token"},
        403: {"model": ErrorBody, "description": "the token's role may not upload"},
        413: {"model": ErrorBody, "description": "body over the size limit"},
        422: {"model": ItemErrors, "description": "bad readings; nothing was stored"},
        429: {"model": ErrorBody, "description": "rate limit; see Retry-After"}})
def post_readings(batch: ReadingBatch, request: Request,
                  caller: Caller = Depends(caller_with("readings.write"))):
    tz = local_tz()
    tolerance = load_settings().future_tolerance_minutes
    readings = [item.to_reading_in(source="api", row=i) for i, item in enumerate(batch.readings)]
    for r in readings:
        r.tested_at = aware(r.tested_at, tz)
    errors: list[RowError] = []
    with gcpause.paused(), Session(engine_of(request), expire_on_commit=False) as session:
        try:
            cache = RefCache.load(session)
            errors += check_batch(readings, cache, now(), tolerance)
            bad = {e.row for e in errors}
            rest = [r for r in readings if r.row not in bad]
            report = None
            if rest:
                try:
                    report = accept_readings(session=session, actor=caller.actor, readings=rest,
                                             cache=cache, tz=tz)
                except ValidationFailed as exc:
                    errors += exc.errors
            if errors or report is None:
                session.rollback()
                return refused(errors)
            record_owners(session, caller.station,
                          [s.ingest_key for s in report.stored
                           if s.state == "stored" and s.ingest_key])
            session.commit()
        except BaseException:
            session.rollback()
            raise
    results = [ReadingAccepted.of(s) for s in report.stored]
    return ReadingsAnswer(stored=report.created, duplicates=report.duplicates, results=results)
