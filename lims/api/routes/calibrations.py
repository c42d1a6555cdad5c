"""``POST /api/v1/calibrations``: a station's calibration records, once each, before its results.

Stored through the metrology service as ``station:NAME`` (``lims.sync.calibrations``), so the
central calibration gate sees the station's verifications and calibrations when its results
arrive. Idempotent by (instrument serial, kind, performed_at): a record stored before answers
``"duplicate"``; one the service refuses answers ``"refused"`` with the reason (the others are
stored).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field

from lims.api.deps import caller_with, db
from lims.api.errors import ErrorBody, ItemErrors
from lims.api.tokens import Caller
from lims.sync.calibrations import apply_calibrations

router = APIRouter(tags=["sync"])


class CalibrationIn(BaseModel):
    id: int = Field(gt=0, description="the station's record id (reported back)")
    instrument: str = Field(min_length=1, max_length=64, description="serial number")
    kind: str = Field(max_length=30)
    performed_at: AwareDatetime = Field(description="ISO time with UTC offset")
    performed_by: str = Field("", max_length=100)
    standard: str = Field("", max_length=100)
    reference_equipment: str = Field("", max_length=300)
    readings: dict[str, Any] = Field(default_factory=dict)
    outcome: Literal["pass", "fail"]
    notes: str = Field("", max_length=2000)
    control: str = Field("", max_length=100, description="daily QC: the control's name")


class CalibrationBatch(BaseModel):
    records: list[CalibrationIn] = Field(max_length=1000)


class CalibrationStatus(BaseModel):
    id: int
    status: Literal["stored", "duplicate", "refused"]
    field: str = ""
    message: str = ""


class CalibrationsAnswer(BaseModel):
    stored: int
    duplicates: int
    refused: int
    records: list[CalibrationStatus]


@router.post(
    "/calibrations", response_model=CalibrationsAnswer,
    summary="Store a station's calibration records (once each, by natural key)",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody},
               422: {"model": ItemErrors, "description": "a malformed batch; nothing stored"},
               503: {"model": ErrorBody, "description": "maintenance: try again later"}})
def post_calibrations(batch: CalibrationBatch, request: Request,
                      caller: Caller = Depends(caller_with("changes.write"))):
    items = [r.model_dump(mode="json") for r in batch.records]
    with db(request) as session:   # commits, or rolls back on any error
        answers = apply_calibrations(session=session, station=caller.station, records=items)
    statuses = [a["status"] for a in answers]
    return CalibrationsAnswer(stored=statuses.count("stored"),
                              duplicates=statuses.count("duplicate"),
                              refused=statuses.count("refused"),
                              records=[CalibrationStatus(id=i["id"], **a)
                                       for i, a in zip(items, answers, strict=True)])
