"""App login sessions, and the guards that keep results and the audit trail from being deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event
from sqlmodel import Field, SQLModel

from lims.errors import LimsError
from lims.models._types import ts_field
from lims.models.people import AuditEvent
from lims.models.results import TestResult


class AppSession(SQLModel, table=True):
    """A logged-in app session. Only the SHA-256 of the token is stored."""

    __tablename__ = "app_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    username: str = Field(index=True, max_length=60)
    created_at: datetime = ts_field(default_now=True)
    last_seen_at: datetime = ts_field(default_now=True)
    expires_at: datetime = ts_field()
    ended_at: datetime | None = ts_field(nullable=True)


class DeletionRefused(LimsError):
    """Results and audit events are never deleted (void a result with a reason instead)."""


@event.listens_for(TestResult, "before_delete")
def _refuse_result_delete(_mapper, _conn, target) -> None:
    raise DeletionRefused(f"test result {target.id} may not be deleted; void it with a reason")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_delete(_mapper, _conn, target) -> None:
    raise DeletionRefused(f"audit event {target.id} may not be deleted: the trail is append-only")


@event.listens_for(AuditEvent, "before_update")
def _refuse_audit_update(_mapper, _conn, target) -> None:
    raise DeletionRefused(f"audit event {target.id} may not be changed: the trail is append-only")
