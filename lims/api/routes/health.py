"""``GET /api/v1/health``: is the server up and its database reachable (no token needed)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lims.api.deps import engine_of
from lims.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness and database check",
            responses={503: {"model": Health, "description": "the database does not answer"}})
def health(request: Request):
    from lims.api import VERSION

    engine = engine_of(request)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return JSONResponse(Health(status="degraded", version=VERSION,
                                   database="unreachable").model_dump(), status_code=503)
    return Health(status="ok", version=VERSION, database=engine.dialect.name)
