"""Request limits of the HTTP API: body size, JSON well-formedness, and a rate per token.

``BodyGuard`` is an ASGI middleware in front of every route. For a request with a body it

* answers **413** when the body is larger than ``max_body`` bytes (by ``Content-Length`` before
  reading, or while reading a chunked body);
* answers **415** when a body is not ``application/json``;
* answers **400** when the body is not UTF-8 or not JSON, naming the line and column
  (``NaN``/``Infinity`` are not JSON and are refused too);

and otherwise hands the body it read on to the route unchanged. A ``PUT`` under ``raw_prefix``
(``/api/v1/attachments/``: a file, not JSON) is exempt from the JSON checks and has its own size
limit (``raw_limit()``, the attachments' ``LIMS_ATTACHMENT_MAX_MB``); its route checks the rest.

``RateLimiter`` is a token bucket per API token, in memory (per server process: with
``lims api serve --workers N`` a token may send up to N times as much): ``burst``
requests at once, refilled at ``per_minute``; an empty bucket answers **429** with
``Retry-After`` (seconds, rounded up).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lims.errors import InvalidInput

MAX_BODY = 1_000_000           # bytes
DRAIN_LIMIT = 64 * MAX_BODY    # read (and drop) at most this much of a refused body
BODY_METHODS = ("POST", "PUT", "PATCH")


def _refuse_constant(name: str) -> float:
    raise InvalidInput(f"{name} is not JSON (numbers must be finite)")


def json_problem(body: bytes) -> dict | None:
    """Why ``body`` is not a JSON document (with line and column), or None when it is one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"error": f"body is not UTF-8 text (byte {exc.start})"}
    try:
        json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        return {"error": f"bad JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                "line": exc.lineno, "column": exc.colno}
    except ValueError as exc:
        return {"error": f"bad JSON: {exc}"}
    return None


class BodyGuard:
    """ASGI middleware: size limit, JSON only, well-formed JSON (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, raw_prefix: str | None = None,
                 raw_limit: Callable[[], int] | None = None):
        self.app = app
        self.max_body = max_body
        self.raw_prefix = raw_prefix
        self.raw_limit = raw_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        raw = bool(self.raw_prefix and self.raw_limit and scope["method"] == "PUT"
                   and scope.get("path", "").startswith(self.raw_prefix))
        limit = self.raw_limit() if raw else self.max_body
        too_big = ({"error": f"file larger than {limit} bytes (LIMS_ATTACHMENT_MAX_MB on the "
                             "server)"} if raw else
                   {"error": f"request body larger than {limit} bytes; send the "
                             "readings in smaller batches"})
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await self._drain(receive, int(length))
            await JSONResponse(too_big, status_code=413)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body", False):
                    await self._drain(receive, DRAIN_LIMIT)
                await JSONResponse(too_big, status_code=413)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and not raw:
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media and media != "application/json" and not media.endswith("+json"):
                await JSONResponse({"error": f"send JSON (Content-Type: application/json), not "
                                             f"{media}"}, status_code=415)(scope, receive, send)
                return
            problem = json_problem(body)
            if problem is not None:
                await JSONResponse(problem, status_code=400)(scope, receive, send)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _drain(receive: Receive, limit: int) -> None:
        """Read what the client is still sending (up to ``limit``), so it hears the answer
        instead of a reset connection."""
        got = 0
        while got <= min(limit, DRAIN_LIMIT):
            message = await receive()
            if message["type"] != "http.request":
                return
            got += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token bucket per key (an API token id). ``per_minute`` 0 switches the limit off."""

    def __init__(self, per_minute: float, burst: int | None = None, clock=time.monotonic):
        self.per_second = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, math.ceil(per_minute / 6)))
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def take(self, key: str) -> float:
        """Spend one request of ``key``: 0.0 when allowed, else the seconds until it would be."""
        if not self.enabled:
            return 0.0
        with self._lock:
            t = self.clock()
            b = self._buckets.get(key)
            if b is None:
                b = self._buckets[key] = _Bucket(self.burst, t)
            b.tokens = min(self.burst, b.tokens + (t - b.at) * self.per_second)
            b.at = t
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / self.per_second
