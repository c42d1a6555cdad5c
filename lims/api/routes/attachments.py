"""Files of a station's records (patrol photos, case evidence): ``PUT /api/v1/attachments/{sha256}``
with the raw bytes and ``Content-Type`` image/png, image/jpeg or application/pdf, and
``POST /api/v1/attachments/missing`` ("which of these do you lack").

The body may be as large as the attachments allow (``LIMS_ATTACHMENT_MAX_MB``, not the JSON
limit); its SHA-256 must be the one in the path (else 400) and its first bytes must show the
type it is sent as (else 422). Stored content-addressed (``lims.sync.files``); the same file
again answers 200 ``"present"``, a new one 201 ``"stored"``. A file is linked to its record
when the change naming it is applied (``POST /api/v1/changes``). Station tokens only.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from lims.api.deps import caller_with
from lims.api.errors import ApiError, ErrorBody, ItemErrors
from lims.api.tokens import Caller
from lims.errors import InvalidInput
from lims.sync import files

router = APIRouter(tags=["sync"])
SCOPE = "changes.write"   # station tokens: the files go with the station's changes


class Hashes(BaseModel):
    sha256: list[str] = Field(max_length=files.MAX_ASK, description="SHA-256 hex digests")


class Missing(BaseModel):
    missing: list[str] = Field(description="the hashes whose files this server lacks")


class Stored(BaseModel):
    sha256: str
    status: Literal["stored", "present"]


@router.post("/attachments/missing", response_model=Missing,
             summary="Which of these files (by SHA-256) the server lacks",
             responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody},
                        403: {"model": ErrorBody}})
def post_missing(body: Hashes, request: Request,
                 caller: Caller = Depends(caller_with(SCOPE))):
    return Missing(missing=files.lacking(body.sha256, request.app.state.var_dir))


@router.put("/attachments/{sha256}", response_model=Stored, status_code=201,
            summary="Upload a file (raw bytes) by its SHA-256; again: 200 present",
            responses={200: {"model": Stored, "description": "the server has this file"},
                       400: {"model": ErrorBody, "description": "the body's hash differs"},
                       401: {"model": ErrorBody}, 403: {"model": ErrorBody},
                       413: {"model": ErrorBody, "description": "over LIMS_ATTACHMENT_MAX_MB"},
                       422: {"model": ItemErrors, "description": "not a PNG/JPEG/PDF"}})
async def put_attachment(request: Request,
                         sha256: str = Path(pattern=r"^[0-9a-f]{64}$"),
                         caller: Caller = Depends(caller_with(SCOPE))):
    data = await request.body()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        status = await run_in_threadpool(files.receive, data, sha256, media,
                                         request.app.state.var_dir)
    except InvalidInput as exc:
        raise ApiError(400, str(exc)) from None
    return JSONResponse({"sha256": sha256, "status": status},
                        status_code=201 if status == "stored" else 200)
