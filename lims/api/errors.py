"""Error answers of the HTTP API: always JSON, never a stack trace.

* ``{"error": "…"}`` for 400 (bad input), 401 (token), 403 (scope), 404, 409, 413, 415, 429;
* ``{"error": "…", "errors": [{"index", "field", "message"}, …]}`` for 422: request validation
  (pydantic) and refused readings (``lims.errors.ValidationFailed`` rows, row = index in the
  batch) share this shape;
* 503 with ``Retry-After`` (seconds) when the database is in maintenance (a restore holds the
  maintenance lock: ``lims.storage.maintenance.MaintenanceLocked``) or unavailable for a moment
  (PostgreSQL shutting down, starting up or in recovery, read-only; SQLite busy): nothing was
  stored, the client sends the same request again later;
* 500: ``{"error": "internal error", "error_id": "…"}``; the traceback goes to the server log
  under that id, never to the client.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa
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
from lims.storage.maintenance import MaintenanceLocked

log = logging.getLogger("lims.api")

#: seconds a client should wait after a 503 (a restore's writers wait this long: WAIT_SECONDS)
RETRY_AFTER = 30
#: PostgreSQL SQLSTATEs of a database that is there again in a moment: connection exceptions
#: (class 08), operator intervention (57P01-57P03: shutdown, crash, starting up / recovery),
#: read-only transaction (25006: a standby or a database being restored)
_TRANSIENT_PG = ("08", "57P01", "57P02", "57P03", "25006")


def transient(exc: BaseException) -> bool:
    """True for a database error that means "unavailable for a moment", not a bug."""
    if isinstance(exc, MaintenanceLocked):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    orig = exc.orig
    if isinstance(orig, MaintenanceLocked):
        return True
    code = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    if code and code.startswith(_TRANSIENT_PG):
        return True
    return isinstance(exc, sa.exc.OperationalError) and "database is locked" in str(orig)


def unavailable(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER)})


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

    @app.exception_handler(MaintenanceLocked)
    async def _maintenance(_request: Request, exc: MaintenanceLocked) -> JSONResponse:
        return unavailable(f"{exc}; nothing was stored")

    @app.exception_handler(sa.exc.DBAPIError)
    async def _database(request: Request, exc: sa.exc.DBAPIError) -> JSONResponse:
        if transient(exc):
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                        exc.orig)
            return unavailable("the database is unavailable for a moment (maintenance or "
                               "restart); nothing was stored, try again later")
        return await _crash(request, exc)

    @app.exception_handler(LimsError)
    async def _lims_error(_request: Request, exc: LimsError) -> JSONResponse:
        if isinstance(exc, MaintenanceLocked):
            return unavailable(f"{exc}; nothing was stored")
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
