"""People, outreach events and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from lims.models._types import json_field, ts_field


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=60)
    display_name: str = Field(default="", max_length=100)
    role: str = Field(max_length=20)  # Role
    password_hash: str | None = Field(default=None, max_length=200)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = ts_field(nullable=True)
    grid_group_id: int | None = Field(default=None, foreign_key="grid_group.id")
    created_at: datetime = ts_field(default_now=True)


class OutreachEvent(SQLModel, table=True):
    __tablename__ = "outreach_event"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # EventKind
    place: str = Field(default="", max_length=200)
    county: str = Field(default="", max_length=100)
    market_id: int | None = Field(default=None, foreign_key="market.id")
    team: str = Field(default="", max_length=100)
    starts_at: datetime = ts_field()
    ends_at: datetime | None = ts_field(nullable=True)
    people_served: int = 0
    talks_given: int = 0


class AuditEvent(SQLModel, table=True):
    """One change, hash-chained to the previous event (see lims.security.audit)."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(default_now=True, index=True)
    actor: str = Field(max_length=60)
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=60)
    old: dict[str, Any] | None = json_field(default_factory=lambda: None, nullable=True)
    new: dict[str, Any] | None = json_field(default_factory=lambda: None, nullable=True)
    reason: str = Field(default="", max_length=1000)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(unique=True, max_length=64)
