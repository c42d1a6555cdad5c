"""Alerts to the laboratory about its field methods (issue 19, ``lims.lab.watch``).

A ``LabAlert`` is raised once per ``(kind, subject)``: e.g. kind ``kit_lot_fnr`` with subject
``kit_lot:12`` when that kit lot's false-negative rate against the lab went over the evaluation
limit (or ``method:ENZ-5009.199`` for the results of a method that recorded no lot). It is not
raised again on later checks; the lab acknowledges it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lims.models._types import json_field, ts_field


class LabAlert(SQLModel, table=True):
    __tablename__ = "lab_alert"
    __table_args__ = (sa.UniqueConstraint("kind", "subject"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)      # kit_lot_fnr
    subject: str = Field(max_length=120)              # kit_lot:<id> or method:<code>
    method_id: int | None = Field(default=None, foreign_key="method.id")
    kit_lot_id: int | None = Field(default=None, foreign_key="kit_lot.id")
    raised_at: datetime = ts_field(index=True)
    message: str = Field(max_length=1000)
    details: dict[str, Any] = json_field()
    acknowledged_at: datetime | None = ts_field(nullable=True)
    acknowledged_by: str = Field(default="", max_length=60)
