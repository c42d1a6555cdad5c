"""``POST /api/v1/hours``: a station's volunteers' service hours, by natural keys.

Stored through the outreach service as ``station:NAME`` (``lims.sync.hours``): the event by name
and start time, the volunteer by team and name (registered here when new); the figure replaces
an earlier one for the same volunteer and event, so sending the same hours again changes
nothing. An item refused (no such event or team here) answers ``"refused"`` with the reason.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field

from lims.api.deps import caller_with, db
from lims.api.errors import ErrorBody, ItemErrors
from lims.api.tokens import Caller
from lims.sync.hours import apply_hours

router = APIRouter(tags=["sync"])


class HoursIn(BaseModel):
    event: str = Field(min_length=1, max_length=200, description="the event's name")
    starts_at: AwareDatetime = Field(description="the event's start (with UTC offset)")
    team: str = Field(min_length=1, max_length=100, description="the volunteer's team")
    volunteer: str = Field(min_length=1, max_length=100, description="the volunteer's name")
    hours: float = Field(gt=0, le=24)


class HoursBatch(BaseModel):
    hours: list[HoursIn] = Field(max_length=5000)


class HoursStatus(BaseModel):
    status: Literal["stored", "refused"]
    message: str = ""


class HoursAnswer(BaseModel):
    stored: int
    refused: int
    hours: list[HoursStatus]


@router.post(
    "/hours", response_model=HoursAnswer, summary="Store a station's volunteers' service hours",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody},
               422: {"model": ItemErrors, "description": "a malformed batch; nothing stored"},
               503: {"model": ErrorBody, "description": "maintenance: try again later"}})
def post_hours(batch: HoursBatch, request: Request,
               caller: Caller = Depends(caller_with("changes.write"))):
    items = [h.model_dump(mode="json") for h in batch.hours]
    with db(request) as session:   # commits, or rolls back on any error
        answers = apply_hours(session=session, station=caller.station, hours=items)
    statuses = [a["status"] for a in answers]
    return HoursAnswer(stored=statuses.count("stored"), refused=statuses.count("refused"),
                       hours=[HoursStatus(**a) for a in answers])
