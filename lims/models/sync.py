"""A station's link to its central server (``lims sync pull/push``).

One row per central server URL. ``last_pushed_result_id`` is the push cursor: results with a
larger id have not been confirmed by the server yet; ``last_pushed_event_id`` is the cursor of the
change outbox (the station's audit events of the kinds that sync, ``lims.sync.changes``). It moves only after the server answered a
batch, so a push that dies anywhere is simply pushed again; the server recognises what it already
stored by the ingest key and answers "duplicate", so nothing is stored twice.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lims.models._types import ts_field


class SyncPeer(SQLModel, table=True):
    __tablename__ = "sync_peer"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True, max_length=300)
    last_pushed_result_id: int = 0
    last_pushed_event_id: int = 0
    last_pushed_calibration_id: int = 0   # calibration records go up before results
    hours_digest: str = Field(default="", max_length=64)   # sha256 of the service hours sent
    pushed_at: datetime | None = ts_field(nullable=True)
    pulled_at: datetime | None = ts_field(nullable=True)
    pull_version: str = Field(default="", max_length=64)  # sha256 of the last reference pulled


class ResultOwner(SQLModel, table=True):
    """On the central server: the station whose token uploaded a result (by its ingest key).
    Only that station may send changes (corrections, voids, reviews, case steps …) to it."""

    __tablename__ = "sync_result_owner"
    id: int | None = Field(default=None, primary_key=True)
    ingest_key: str = Field(unique=True, max_length=64)
    station: str = Field(max_length=40, index=True)


class SyncChange(SQLModel, table=True):
    """On the central server: a station's change applied, once (station + its audit event id)."""

    __tablename__ = "sync_change"
    __table_args__ = (sa.UniqueConstraint("station", "event_id"),)
    id: int | None = Field(default=None, primary_key=True)
    station: str = Field(max_length=40)
    event_id: int
    action: str = Field(max_length=40)
    by: str = Field(default="", max_length=60)   # the station's user who made the change
    applied_at: datetime = ts_field(default_now=True)


class StationChainHead(SQLModel, table=True):
    """On the central server: a station's audit chain head as it sent it with a push (a witness
    kept outside the station: its chain must still hold that event with that hash)."""

    __tablename__ = "sync_chain_head"
    id: int | None = Field(default=None, primary_key=True)
    station: str = Field(max_length=40, index=True)
    event_id: int
    hash: str = Field(max_length=64)
    station_at: str = Field(default="", max_length=40)   # the station's clock, as sent
    received_at: datetime = ts_field(default_now=True)


class SyncParked(SQLModel, table=True):
    """On a station: a change the central server refused (or that waits behind one on the same
    result), kept with the reason; the push goes on past it. ``retry`` puts it back in the queue
    (``lims sync retry``)."""

    __tablename__ = "sync_parked"
    __table_args__ = (sa.UniqueConstraint("peer_id", "event_id"),)
    id: int | None = Field(default=None, primary_key=True)
    peer_id: int = Field(foreign_key="sync_peer.id", index=True)
    event_id: int
    action: str = Field(max_length=40)
    result_key: str = Field(default="", max_length=64)   # ingest key of the result it changes
    field: str = Field(default="", max_length=100)
    message: str = Field(default="", max_length=2000)
    parked_at: datetime = ts_field(default_now=True)
    retry: bool = False


class SyncRefused(SQLModel, table=True):
    """On the central server: a station's change refused (station + its audit event id), with
    the reason; removed when a retry of it is applied."""

    __tablename__ = "sync_refused"
    __table_args__ = (sa.UniqueConstraint("station", "event_id"),)
    id: int | None = Field(default=None, primary_key=True)
    station: str = Field(max_length=40, index=True)
    event_id: int
    action: str = Field(max_length=40)
    field: str = Field(default="", max_length=100)
    message: str = Field(default="", max_length=2000)
    refused_at: datetime = ts_field(default_now=True)
