"""What the serial listener keeps besides test results: quarantined messages, weights, offsets.

``QuarantineItem``: bytes that could not become a stored reading (decode error, a message naming
another instrument, an unknown sample or commodity …), with the raw bytes and the reason, for the
lab to review. Never deleted; ``resolved_at`` is set when a replay stored it after a profile fix.
``MeteringReading``: one weight from a balance or scale. ``ListenerOffset``: how far each
instrument's raw journal has been processed (a restart resumes exactly there).
``ListenerHeartbeat``: when each instrument's listener last showed it was alive (the app shows a
listener that is down).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lims.models._types import json_field, ts_field


class QuarantineItem(SQLModel, table=True):
    __tablename__ = "quarantine_item"
    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = ts_field(index=True)
    instrument_serial: str = Field(max_length=60, index=True)   # the port's instrument
    claimed_serial: str | None = Field(default=None, max_length=60)  # serial in the message
    driver: str = Field(max_length=30)
    profile: str | None = Field(default=None, max_length=200)
    stage: str = Field(max_length=20)           # decode / instrument / store
    reason: str = Field(max_length=4000)
    raw: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    reading: dict[str, Any] | None = json_field(default_factory=lambda: None, nullable=True)
    journal_ref: str = Field(default="", max_length=300)   # journal file and chunk offset
    dedupe_key: str = Field(unique=True, max_length=64)
    resolved_at: datetime | None = ts_field(nullable=True)
    resolution: str = Field(default="", max_length=500)


class MeteringReading(SQLModel, table=True):
    __tablename__ = "metering_reading"
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instrument.id", index=True)
    received_at: datetime = ts_field(index=True)
    value: float | None = None
    unit: str = Field(default="", max_length=10)
    stability: str = Field(max_length=20)       # stable / unstable / overload / underload
    mode: str = Field(default="gross", max_length=10)
    header: str = Field(default="", max_length=20)
    raw: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    source: str = Field(default="listener", max_length=20)
    ingest_key: str = Field(unique=True, max_length=64)


class ListenerOffset(SQLModel, table=True):
    __tablename__ = "listener_offset"
    instrument_serial: str = Field(primary_key=True, max_length=60)
    journal_file: str = Field(max_length=300)   # relative to the journal directory
    line_offset: int = 0                        # byte offset of the first unprocessed chunk line
    skip: int = 0                               # bytes of that chunk already processed
    stream_pos: int = 0                         # RX bytes of journal_file before the resume point
    updated_at: datetime = ts_field(default_now=True)


class ListenerHeartbeat(SQLModel, table=True):
    __tablename__ = "listener_heartbeat"
    instrument_serial: str = Field(primary_key=True, max_length=60)
    started_at: datetime = ts_field()            # when this listener process started
    beat_at: datetime = ts_field()               # its last heartbeat
    pid: int = 0
    host: str = Field(default="", max_length=200)
