"""App login sessions that expire (for the Streamlit app).

Login::

    actor = users.authenticate(session=s, username=u, password=p)
    token = sessions.create_session(session=s, actor=actor)   # keep in st.session_state

Every page run::

    actor = sessions.resolve_session(session=s, token=token)  # SessionExpired → show login

Logout: ``sessions.end_session(session=s, token=token)``.

The token is 256 random bits; only its SHA-256 is stored. A session ends after
``policy.session_idle`` without use or ``policy.session_max`` after login, when the user is
disabled or their password changes. ``resolve_session`` re-reads the user, so a role change
applies at once.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import update
from sqlmodel import Session, select

from lims.errors import SessionExpired
from lims.models import AppSession, User
from lims.models.enums import Role
from lims.security.auth import Actor
from lims.security.policy import SecurityPolicy, load_policy
from lims.timeutil import now


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(*, session: Session, actor: Actor,
                   policy: SecurityPolicy | None = None) -> str:
    """Start an app session for an authenticated actor; returns the secret token."""
    p = policy or load_policy()
    token = secrets.token_urlsafe(32)
    t = now()
    session.add(AppSession(token_hash=_digest(token), username=actor.username, created_at=t,
                           last_seen_at=t, expires_at=t + p.session_max))
    session.flush()
    return token


def resolve_session(*, session: Session, token: str | None,
                    policy: SecurityPolicy | None = None) -> Actor:
    """The Actor of a live session (and mark it used), or raise SessionExpired saying why."""
    p = policy or load_policy()
    if not token:
        raise SessionExpired("not logged in")
    row = session.exec(select(AppSession).where(AppSession.token_hash == _digest(token))).first()
    if row is None or row.ended_at is not None:
        raise SessionExpired("not logged in (the session ended); log in again")
    t = now()
    if t >= row.expires_at:
        raise SessionExpired(f"session expired ({p.session_max} after login); log in again")
    if t - row.last_seen_at >= p.session_idle:
        minutes = int(p.session_idle.total_seconds() // 60)
        raise SessionExpired(f"session expired after {minutes} minutes without use; log in again")
    user = session.exec(select(User).where(User.username == row.username)).first()
    if user is None or not user.active:
        raise SessionExpired(f"user {row.username!r} is disabled; ask an admin")
    if t - row.last_seen_at >= p.session_idle / 30:  # not a write on every page run
        row.last_seen_at = t
        session.add(row)
        session.flush()
    return Actor(user.username, Role(user.role))


def end_session(*, session: Session, token: str | None) -> None:
    """Log out (ending an unknown or ended session is not an error)."""
    if not token:
        return
    session.execute(update(AppSession).where(AppSession.token_hash == _digest(token),
                                             AppSession.ended_at.is_(None))
                    .values(ended_at=now()))


def end_sessions_for(*, session: Session, username: str) -> int:
    """End every live session of a user (disabled, password changed); returns how many."""
    res = session.execute(update(AppSession).where(AppSession.username == username,
                                                   AppSession.ended_at.is_(None))
                          .values(ended_at=now()))
    return res.rowcount or 0
