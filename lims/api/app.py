"""The FastAPI application factory of the HTTP API.

``create_app(engine=None, *, rate_per_minute=…, burst=…, max_body=…)`` returns an app serving

* ``GET /api/v1/health`` (no token);
* ``POST /api/v1/readings``, ``POST /api/v1/changes``, ``POST /api/v1/calibrations``,
  ``PUT /api/v1/attachments/{sha256}`` (a file), ``POST /api/v1/attachments/missing``,
  ``POST /api/v1/hours``, ``GET /api/v1/reference``, ``GET /api/v1/board/{market_code}``,
  ``GET /api/v1/results/{sample_code}`` (``Authorization: Bearer TOKEN``);
* the OpenAPI document at ``/api/openapi.json``, its pages at ``/api/docs`` and ``/api/redoc``.

Every answer is JSON; errors have the shapes of ``lims.api.errors``. The body limit and JSON
check run in front of every route (``lims.api.limits.BodyGuard``); the rate limit is per token.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI

from lims.api import VERSION, errors
from lims.api.limits import MAX_BODY, BodyGuard, RateLimiter
from lims.api.routes import (
    attachments,
    calibrations,
    changes,
    health,
    hours,
    public,
    readings,
    reference,
)
from lims.files.attachments import max_bytes
from lims.storage.engine import get_engine

PREFIX = f"/api/{VERSION}"
RATE_PER_MINUTE = 600   # requests per token and minute
BURST = 60              # requests a token may send at once
WORKER_OPTIONS = "LIMS_API_WORKER_OPTIONS"   # `lims api serve --workers N` → its worker processes

DESCRIPTION = """\
Kuaijian LIMS central server. Stations and devices upload readings (all or nothing, through the
same intake pipeline as the instruments and file imports) and read reference data, market boards
and public results.

Every endpoint but `/api/v1/health` needs `Authorization: Bearer TOKEN`, a token made with
`lims api token create --station NAME` (shown once, stored hashed). Errors are JSON:
`{"error": …}`, and for refused readings `{"error": …, "errors": [{"index", "field",
"message"}]}` (422, nothing stored).
"""


def create_app(engine: sa.Engine | None = None, *, rate_per_minute: float = RATE_PER_MINUTE,
               burst: int | None = BURST, max_body: int = MAX_BODY,
               var_dir: Path | None = None) -> FastAPI:
    """The API on ``engine`` (default: the configured database, ``LIMS_DATABASE_URL``); files
    (stations' attachments) under ``var_dir`` (default: ``LIMS_VAR_DIR``)."""
    app = FastAPI(title="Kuaijian LIMS API", version=VERSION, description=DESCRIPTION,
                  docs_url="/api/docs", redoc_url="/api/redoc",
                  openapi_url="/api/openapi.json")
    app.state.engine = engine if engine is not None else get_engine()
    app.state.rate_limiter = RateLimiter(rate_per_minute, burst)
    app.state.var_dir = var_dir
    for module in (health, readings, changes, calibrations, hours, attachments, reference,
                   public):
        app.include_router(module.router, prefix=PREFIX)
    errors.install(app)
    app.add_middleware(BodyGuard, max_body=max_body, raw_prefix=f"{PREFIX}/attachments/",
                       raw_limit=max_bytes)
    return app


def app_from_env() -> FastAPI:
    """The app of one worker process of ``lims api serve --workers N`` (uvicorn imports it by
    name in each process): the options ``serve`` was given come in ``LIMS_API_WORKER_OPTIONS``
    (JSON), the database from ``LIMS_DATABASE_URL`` as in any process."""
    options = json.loads(os.environ.get(WORKER_OPTIONS) or "{}")
    return create_app(rate_per_minute=float(options.get("rate_per_minute", RATE_PER_MINUTE)),
                      burst=options.get("burst", BURST))
