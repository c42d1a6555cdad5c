"""``POST /api/v1/changes``: a station's changes to what it recorded, once each, in order.

Corrections, voids and reviews of its results, case steps, alert responses, teams, events and
patrols, from the station's audit trail (``lims.sync.changes``), applied by
``lims.sync.apply.apply_changes`` through the same services as the CLI, acting as the station.
A change sent before (same station, same id) answers ``"duplicate"``; a change to a result the
station did not upload, or any change a service refuses, answers ``"refused"`` with the field and
the reason (kept in the station's list of refused changes on the server), and the rest of the
batch is applied; a later change to the same result waits behind it (refused as well). A batch
out of order or malformed answers 422 and stores nothing. The station's audit chain head sent with the
batch (``chain_head``) is kept per station as a witness of its chain.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from lims.api.deps import caller_with, engine_of
from lims.api.errors import ErrorBody, ItemErrors, refused
from lims.api.tokens import Caller
from lims.errors import ValidationFailed
from lims.sync.apply import apply_changes, record_chain_head
from lims.sync.changes import SYNCED

router = APIRouter(tags=["sync"])
MAX_CHANGES = 1000


class ResultRef(BaseModel):
    ingest_key: str = Field(max_length=64, description="the result's ingest key")
    sample_code: str = Field("", max_length=64, description="its sample code (checked)")


class ChangeIn(BaseModel):
    id: int = Field(gt=0, description="the station's audit event id (with the token's station: "
                                      "the change's stable id)")
    action: Literal[SYNCED]  # type: ignore[valid-type]
    by: str = Field("", max_length=60, description="the station's user who made the change")
    reason: str = Field("", max_length=1000)
    result: ResultRef | None = Field(None, description="the result changed (results, cases, "
                                                       "alerts)")
    data: dict[str, Any] = Field(default_factory=dict, description="what the action needs")


class ChainHead(BaseModel):
    event_id: int = Field(ge=0, description="the station's newest audit event id")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="that event's chain hash")
    at: str = Field("", max_length=40, description="the station's clock when it was read")


class ChangeBatch(BaseModel):
    changes: list[ChangeIn] = Field(max_length=MAX_CHANGES, description="in the station's order "
                                    "(may be empty when only the chain head is sent)")
    chain_head: ChainHead | None = Field(None, description="the station's audit chain head, "
                                         "kept on the server as a witness")


class ChangeStatus(BaseModel):
    id: int
    status: Literal["applied", "duplicate", "refused"]
    field: str = Field("", description="what is wrong (refused changes)")
    message: str = Field("", description="why it was refused")


class ChangesAnswer(BaseModel):
    applied: int
    duplicates: int
    refused: int = 0
    changes: list[ChangeStatus]


@router.post(
    "/changes", response_model=ChangesAnswer,
    summary="Apply a station's changes (refused ones are kept, the rest applied)",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody},
               422: {"model": ItemErrors, "description": "a malformed batch; nothing stored"},
               503: {"model": ErrorBody, "description": "maintenance: try again later"}})
def post_changes(batch: ChangeBatch, request: Request,
                 caller: Caller = Depends(caller_with("changes.write"))):
    items = [c.model_dump() for c in batch.changes]
    for item in items:
        if item["result"] is None:
            item.pop("result")
    with Session(engine_of(request), expire_on_commit=False) as session:
        try:
            answers = apply_changes(session=session, station=caller.station, changes=items,
                                    var_dir=request.app.state.var_dir)
            if batch.chain_head is not None:
                record_chain_head(session, caller.station, batch.chain_head.model_dump())
            session.commit()
        except ValidationFailed as exc:
            session.rollback()
            return refused(exc.errors)
        except BaseException:
            session.rollback()
            raise
    statuses = [a["status"] for a in answers]
    return ChangesAnswer(applied=statuses.count("applied"),
                         duplicates=statuses.count("duplicate"),
                         refused=statuses.count("refused"),
                         changes=[ChangeStatus(id=c["id"], **a)
                                  for c, a in zip(items, answers, strict=True)])
