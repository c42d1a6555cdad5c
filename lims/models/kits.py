"""Test kits and their lots (issue 14): a result records the kit lot it was tested with, and a
lot past its expiry date on the test day holds the result for review (``lims.intake.gate``)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lims.models._types import ts_field


class Kit(SQLModel, table=True):
    """A kind of rapid-test kit (试剂盒) for one method, from one maker."""

    __tablename__ = "kit"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(default="", max_length=200)
    method_id: int = Field(foreign_key="method.id", index=True)
    maker: str = Field(default="", max_length=200)
    active: bool = True
    created_at: datetime = ts_field(default_now=True)


class KitLot(SQLModel, table=True):
    """One production lot (批号) of a kit with its expiry date; never deleted (results point
    to it), deactivated once used up."""

    __tablename__ = "kit_lot"
    __table_args__ = (sa.UniqueConstraint("kit_id", "lot"),)
    id: int | None = Field(default=None, primary_key=True)
    kit_id: int = Field(foreign_key="kit.id", index=True)
    lot: str = Field(max_length=60, index=True)
    expires_on: date
    active: bool = True
    created_at: datetime = ts_field(default_now=True)
