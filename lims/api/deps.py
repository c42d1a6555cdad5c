"""What routes depend on: the database, and the caller behind the bearer token.

``caller_with("scope")`` is a FastAPI dependency: it reads ``Authorization: Bearer TOKEN``,
resolves the token (``lims.api.tokens.resolve``: missing, unknown or revoked → 401), spends one
request from the token's rate bucket (empty → 429 with ``Retry-After``) and checks that the
token's role holds the scope (else 403).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from lims.api.errors import ApiError
from lims.api.limits import RateLimiter
from lims.api.tokens import Caller, resolve
from lims.storage.engine import session_scope

bearer = HTTPBearer(auto_error=False, description="an API token from `lims api token create`")


def engine_of(request: Request) -> sa.Engine:
    return request.app.state.engine


@contextmanager
def db(request: Request) -> Iterator[Session]:
    """A session on the app's database that commits on success (inside the route)."""
    with session_scope(engine_of(request)) as s:
        yield s


def caller_with(scope: str) -> Callable[..., Caller]:
    def dependency(request: Request,
                   credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
        token = credentials.credentials if credentials is not None else None
        with db(request) as s:
            caller = resolve(session=s, token=token)
        limiter: RateLimiter = request.app.state.rate_limiter
        wait = limiter.take(caller.token_id)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(429, f"too many requests for token {caller.token_id}; retry in "
                                f"{seconds} s", headers={"Retry-After": str(seconds)},
                           retry_after=seconds)
        if not caller.may(scope):
            raise ApiError(403, f"a {caller.role} token may not do this ({scope})")
        request.state.caller = caller
        return caller

    dependency.__name__ = f"caller_with_{scope.replace('.', '_')}"
    return dependency
