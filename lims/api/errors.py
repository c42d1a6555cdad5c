"""Error answers of the HTTP API: always JSON, never a stack trace.

* ``{"error": "…"}`` for 400 (bad input), 401 (token), 403 (scope), 404, 409, 413, 415, 429;
* ``{"error": "…", "errors": [{"index", "field", "message"}, …]}`` for 422: request validation
  (pydantic) and refused readings (``lims.errors.ValidationFailed`` rows, row = index in the
  batch) share this shape;
* 500: ``{"error": "internal error", "error_id": "…"}``; the traceback goes to the server log
  under that id, never to the client.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from lims.errors import (
    AuthenticationFailed,
    Conflict,
    LimsError,
    NotFound,
    PermissionDenied,
    RowError,
    ValidationFailed,
)

log = logging.getLogger("lims.api")


class ErrorBody(BaseModel):
    error: str


class ItemError(BaseModel):
    index: int | None = None
    field: str
    message: str


class ItemErrors(BaseModel):
    error: str
    errors: list[ItemError]


class ApiError(Exception):
    """An answer other than 2xx, raised from a route or dependency."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 **extra: Any):
        super().__init__(message)
        self.status, self.message, self.headers, self.extra = status, message, headers, extra


def item_errors(errors: list[RowError]) -> list[dict]:
    """RowErrors (row = index in the batch) in the API's shape, in index order."""
    out = [{"index": e.row if isinstance(e.row, int) else None, "field": e.field,
            "message": e.message} for e in errors]
    return sorted(out, key=lambda e: (e["index"] is None, e["index"] or 0))


def refused(errors: list[RowError]) -> JSONResponse:
    n = len({e.row for e in errors})
    return JSONResponse({"error": f"{n} reading(s) refused; nothing was stored",
                         "errors": item_errors(errors)}, status_code=422)


def _validation_rows(exc: RequestValidationError) -> list[RowError]:
    rows = []
    for e in exc.errors():
        loc = list(e.get("loc", ()))
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        index: int | None = None
        if len(loc) >= 2 and loc[0] == "readings" and isinstance(loc[1], int):
            index, loc = loc[1], loc[2:]
        field = ".".join(str(p) for p in loc) or "body"
        rows.append(RowError(index if index is not None else "", field, e.get("msg", "invalid")))
    return rows


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message, **exc.extra}, status_code=exc.status,
                            headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint (see /api/docs)"
        return JSONResponse({"error": message}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return refused(_validation_rows(exc))

    @app.exception_handler(ValidationFailed)
    async def _failed(_request: Request, exc: ValidationFailed) -> JSONResponse:
        return refused(exc.errors)

    @app.exception_handler(LimsError)
    async def _lims_error(_request: Request, exc: LimsError) -> JSONResponse:
        status = 400
        if isinstance(exc, AuthenticationFailed):
            status = 401
        elif isinstance(exc, PermissionDenied):
            status = 403
        elif isinstance(exc, NotFound):
            status = 404
        elif isinstance(exc, Conflict):
            status = 409
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:12]
        log.error("error %s on %s %s", error_id, request.method, request.url.path,
                  exc_info=(type(exc), exc, exc.__traceback__))
        return JSONResponse({"error": "internal error; the server log has the details",
                             "error_id": error_id}, status_code=500)
