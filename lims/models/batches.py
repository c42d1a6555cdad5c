"""Analyzer batches (worksheets) and readings that found no sample.

A ``Batch`` puts registered samples on an instrument's channels (``BatchSlot``) for a time
window: from ``opened_at`` until ``closed_at`` (or still open). A reading that names only its
instrument and channel is bound to the sample on that channel of the batch whose window holds
the reading. A reading that matches no sample is kept as an ``UnboundReading`` — counted nowhere,
never lost — until someone binds it to a sample (it then goes through the intake pipeline) or
voids it with a reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lims.models._types import json_field, ts_field


class Batch(SQLModel, table=True):
    __tablename__ = "batch"
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instrument.id", index=True)
    opened_at: datetime = ts_field(index=True)
    opened_by: str = Field(max_length=60)
    closed_at: datetime | None = ts_field(nullable=True)
    closed_by: str = Field(default="", max_length=60)


class BatchSlot(SQLModel, table=True):
    __tablename__ = "batch_slot"
    __table_args__ = (sa.UniqueConstraint("batch_id", "channel"),)
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    channel: str = Field(max_length=10)
    sample_id: int | None = Field(default=None, foreign_key="sample.id", index=True)
    control: bool = False          # the method's control (blank) runs on this channel


class UnboundReading(SQLModel, table=True):
    __tablename__ = "unbound_reading"
    id: int | None = Field(default=None, primary_key=True)
    ingest_key: str = Field(unique=True, max_length=64)
    instrument_id: int | None = Field(default=None, foreign_key="instrument.id", index=True)
    channel: str | None = Field(default=None, max_length=10)
    method: str = Field(max_length=40)
    tested_at: datetime = ts_field(index=True)
    reading: dict[str, Any] = json_field()     # the reading as received (ReadingIn fields)
    reason: str = Field(max_length=300)
    received_at: datetime = ts_field(default_now=True)
    status: str = Field(default="waiting", max_length=20, index=True)  # waiting, bound, voided
    result_id: int | None = Field(default=None, foreign_key="test_result.id")
    decided_by: str = Field(default="", max_length=60)
    decided_at: datetime | None = ts_field(nullable=True)
    decision_reason: str = Field(default="", max_length=300)
