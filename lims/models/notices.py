"""The outbox of notices to grid officers (issue 15): one row per alert and channel.

A notice is written in the same transaction as its alert, so an alert is never raised without its
notices; ``lims notices send`` (and ``lims up``) deliver them with retries. Rows are kept after
sending: they are the record of who was told what and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from lims.models._types import json_field, ts_field


class Notice(SQLModel, table=True):
    __tablename__ = "notice"
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    channel: str = Field(max_length=20)            # email, webhook
    target: str = Field(max_length=300)            # e-mail address or webhook URL
    subject: str = Field(max_length=300)
    body: str
    payload: dict[str, Any] = json_field()         # what the webhook receives
    status: str = Field(default="pending", max_length=20, index=True)  # pending, sent, failed, cancelled
    attempts: int = 0
    next_attempt_at: datetime = ts_field(index=True)
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = ts_field(default_now=True)
    sent_at: datetime | None = ts_field(nullable=True)
