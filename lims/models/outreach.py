"""Volunteer teams, who served at which outreach event, and night-market patrols (issue 6).

``OutreachEvent`` (people.py) holds the event itself; these tables add the teams that ran it
(``EventTeam``), each volunteer's service hours (``EventService``) and the patrol log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lims.models._types import json_field, ts_field


class VolunteerTeam(SQLModel, table=True):
    """A volunteer service team (志愿服务队)."""

    __tablename__ = "volunteer_team"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    county: str = Field(default="", max_length=100)
    leader: str = Field(default="", max_length=100)
    created_at: datetime = ts_field(default_now=True)
    active: bool = True   # false once disbanded: kept, since events and hours point to it


class Volunteer(SQLModel, table=True):
    """A registered volunteer; ``active`` is false once they stop serving."""

    __tablename__ = "volunteer"
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="volunteer_team.id", index=True)
    name: str = Field(max_length=100)
    phone: str = Field(default="", max_length=40)
    active: bool = True
    registered_at: datetime = ts_field(default_now=True)


class EventTeam(SQLModel, table=True):
    """Which team(s) ran an outreach event."""

    __tablename__ = "event_team"
    event_id: int = Field(foreign_key="outreach_event.id", primary_key=True)
    team_id: int = Field(foreign_key="volunteer_team.id", primary_key=True, index=True)


class EventService(SQLModel, table=True):
    """Hours one volunteer served at one event (service hours are summed from these rows)."""

    __tablename__ = "event_service"
    __table_args__ = (sa.UniqueConstraint("event_id", "volunteer_id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="outreach_event.id", index=True)
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True)
    hours: float


class PatrolLog(SQLModel, table=True):
    """One night-market patrol (夜市巡查): route, stalls checked, samples tested, issues found."""

    __tablename__ = "patrol_log"
    id: int | None = Field(default=None, primary_key=True)
    market_id: int | None = Field(default=None, foreign_key="market.id", index=True)
    route: str = Field(max_length=300)
    started_at: datetime = ts_field(index=True)
    ended_at: datetime | None = ts_field(nullable=True)
    staff: str = Field(default="", max_length=300)
    stalls_checked: int = 0
    samples_tested: int = 0
    issues_found: int = 0
    issues: str = Field(default="", max_length=2000)
    recorded_by: str = Field(default="", max_length=60)
    # photos taken on the patrol: [{"path", "sha256", "mime", "attachment_id"}], attachments of
    # the patrol (lims.files.attachments; before issue 19: files under photos/, no attachment_id)
    photos: list[dict[str, Any]] = json_field(default_factory=list)
