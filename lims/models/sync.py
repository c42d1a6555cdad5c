"""A station's link to its central server (``lims sync pull/push``).

One row per central server URL. ``last_pushed_result_id`` is the push cursor: results with a
larger id have not been confirmed by the server yet. It moves only after the server answered a
batch, so a push that dies anywhere is simply pushed again; the server recognises what it already
stored by the ingest key and answers "duplicate", so nothing is stored twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from lims.models._types import ts_field


class SyncPeer(SQLModel, table=True):
    __tablename__ = "sync_peer"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True, max_length=300)
    last_pushed_result_id: int = 0
    pushed_at: datetime | None = ts_field(nullable=True)
    pulled_at: datetime | None = ts_field(nullable=True)
    pull_version: str = Field(default="", max_length=64)  # sha256 of the last reference pulled
