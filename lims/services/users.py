"""User accounts (the security issue adds hashing policy, sessions and lock-out)."""

from __future__ import annotations

from sqlmodel import Session, select

from lims.models import User
from lims.models.enums import Role
from lims.services.auth import Actor
from lims.services.errors import NotFound, PermissionDenied


def actor_for(*, session: Session, username: str, password: str | None = None) -> Actor:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"unknown user {username!r}")
    if not user.active:
        raise PermissionDenied(f"user {username!r} is disabled")
    return Actor(user.username, Role(user.role))
