"""Tokens of the HTTP API: create (shown once), list, revoke, and resolve a presented token.

A token reads ``lims_<id>_<secret>``: ``<id>`` (8 hex digits, public) finds its row,
``<secret>`` is ``secrets.token_urlsafe(32)`` (256 random bits). Only the SHA-256 of the whole
token is stored, compared in constant time. Tokens are never deleted: revoking one stamps
``revoked_at`` and it answers 401 from the next request on.

A token's role (``API_ROLES``) says what its requests may do (scopes) and which ``Role`` the
station acts with in the services it calls: a ``station`` records readings (``results.create``;
the intake follow-up opens cases and raises alerts, ``cases.manage``) and reads reference data,
boards and public results, as a field tester does; it never reads users or tokens. Creating,
listing and revoking tokens needs the ``api.tokens`` permission (admins). Each change is an
audit event; the token itself never appears in it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from lims.errors import AuthenticationFailed, InvalidInput, NotFound
from lims.models import ApiToken
from lims.models.enums import Role
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import now

PERMISSION = "api.tokens"
TOKEN_RE = re.compile(r"^lims_([0-9a-f]{8})_([A-Za-z0-9_-]{20,100})$")
STATION_RE = re.compile(r"^[\w.@-]{1,40}$")
#: how often a token's last_used_at is written (not on every request)
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiRole:
    role: Role                   # what the station acts as in the services it calls
    scopes: frozenset[str]       # what its requests may do
    help: str


#: token role → the role its requests act with and the scopes they hold
API_ROLES: dict[str, ApiRole] = {
    "station": ApiRole(Role.FIELD_TESTER, frozenset({"readings.write", "changes.write",
                                                     "reference.read", "public.read"}),
                       "a field station or device: uploads readings and the changes to its own "
                       "results (lims.sync.apply), reads reference data, boards and public "
                       "results"),
    "reader": ApiRole(Role.FIELD_TESTER, frozenset({"reference.read", "public.read"}),
                      "read-only: reference data, boards and public results (a display, a "
                      "partner platform)"),
}


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    station: str
    role: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict:
        iso = lambda t: t.isoformat() if t else None  # noqa: E731
        return {"id": self.token_id, "station": self.station, "role": self.role,
                "active": self.active, "created_at": iso(self.created_at),
                "created_by": self.created_by, "last_used_at": iso(self.last_used_at),
                "revoked_at": iso(self.revoked_at), "revoked_by": self.revoked_by}


@dataclass(frozen=True)
class Caller:
    """Who sent an API request: the token's station and role."""

    token_id: str
    station: str
    role: str

    @property
    def actor(self) -> Actor:
        return Actor(f"station:{self.station}", API_ROLES[self.role].role)

    def may(self, scope: str) -> bool:
        return scope in API_ROLES[self.role].scopes


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _info(t: ApiToken) -> TokenInfo:
    return TokenInfo(t.token_id, t.station, t.role, t.created_at, t.created_by, t.last_used_at,
                     t.revoked_at, t.revoked_by)


def create_token(*, session: Session, actor: Actor, station: str,
                 role: str = "station") -> tuple[str, TokenInfo]:
    """A new token for ``station``: returns the token (show it once) and its row's info."""
    require(actor, PERMISSION)
    name = station.strip()
    if not STATION_RE.match(name):
        raise InvalidInput(f"station {station!r}: 1–40 letters, digits or . _ @ - (no spaces)")
    if role not in API_ROLES:
        raise InvalidInput(f"role {role!r}: must be one of {', '.join(API_ROLES)}")
    while True:
        token_id = secrets.token_hex(4)
        if session.exec(select(ApiToken).where(ApiToken.token_id == token_id)).first() is None:
            break
    token = f"lims_{token_id}_{secrets.token_urlsafe(32)}"
    row = ApiToken(token_id=token_id, token_hash=digest(token), station=name, role=role,
                   created_by=actor.username)
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="api.token.create", entity="api_token",
                 entity_id=token_id, new={"station": name, "role": role})
    return token, _info(row)


def list_tokens(*, session: Session, actor: Actor) -> list[TokenInfo]:
    require(actor, PERMISSION)
    rows = session.exec(select(ApiToken).order_by(ApiToken.station, ApiToken.id)).all()
    return [_info(t) for t in rows]


def revoke(*, session: Session, actor: Actor, which: str) -> list[TokenInfo]:
    """Revoke the token with id ``which``, else every active token of station ``which``."""
    require(actor, PERMISSION)
    key = which.strip()
    rows = session.exec(select(ApiToken).where(ApiToken.token_id == key.lower())).all()
    if not rows:
        rows = session.exec(select(ApiToken).where(ApiToken.station == key)).all()
    if not rows:
        raise NotFound(f"no API token with id or station {which!r} (see `lims api token list`)")
    active = [t for t in rows if t.revoked_at is None]
    if not active:
        raise NotFound(f"the token(s) of {which!r} are revoked already")
    t0 = now()
    for t in active:
        t.revoked_at, t.revoked_by = t0, actor.username
        session.add(t)
        session.flush()
        audit.record(session=session, actor=actor, action="api.token.revoke", entity="api_token",
                     entity_id=t.token_id, old={"station": t.station, "active": True},
                     new={"station": t.station, "active": False})
    return [_info(t) for t in active]


def resolve(*, session: Session, token: str | None) -> Caller:
    """The caller a presented token stands for, or AuthenticationFailed saying why not."""
    if not token:
        raise AuthenticationFailed("missing token: send the header 'Authorization: Bearer TOKEN'")
    m = TOKEN_RE.match(token.strip())
    row = None
    if m:
        row = session.exec(select(ApiToken).where(ApiToken.token_id == m.group(1))).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest(token.strip())):
        raise AuthenticationFailed("invalid token")
    if row.revoked_at is not None:
        raise AuthenticationFailed(f"token {row.token_id} was revoked")
    if row.role not in API_ROLES:
        raise AuthenticationFailed(f"token {row.token_id} has an unknown role {row.role!r}")
    t = now()
    if row.last_used_at is None or t - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = t
        session.add(row)
        session.flush()
    return Caller(row.token_id, row.station, row.role)
