"""What happens after a positive: cases and their steps, alerts, vendor grades (issue 6).

A ``Case`` is opened for a positive rapid result (Food Safety Law art. 88); each step taken is a
``CaseStep`` row (who, when, details) and the case row keeps a summary for queries. The objection
window that applied is copied onto the case when it opens, with its source, so a later edit of the
reference data does not change the clock of a case already running.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from lims.models._types import json_field, ts_field


class EnforcementCase(SQLModel, table=True):
    __tablename__ = "enforcement_case"
    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="test_result.id", unique=True)
    sample_id: int = Field(foreign_key="sample.id", index=True)
    vendor_id: int | None = Field(default=None, foreign_key="vendor.id", index=True)
    market_id: int | None = Field(default=None, foreign_key="market.id", index=True)
    commodity_id: int = Field(foreign_key="commodity.id")
    status: str = Field(default="open", max_length=20)  # open, closed
    opened_at: datetime = ts_field(index=True)
    opened_by: str = Field(max_length=60)
    objection_window_hours: float
    objection_rule: str = Field(max_length=300)        # source of the window
    result_received_at: datetime | None = ts_field(nullable=True)  # vendor notified
    sale_suspended_at: datetime | None = ts_field(nullable=True)
    objection_at: datetime | None = ts_field(nullable=True)
    objection_accepted: bool | None = None
    confirmatory_result_id: int | None = Field(default=None, foreign_key="test_result.id")
    outcome: str = Field(default="", max_length=20)   # confirmed, overturned
    disposal: str = Field(default="", max_length=40)
    disposed_at: datetime | None = ts_field(nullable=True)
    notice_at: datetime | None = ts_field(nullable=True)
    closed_at: datetime | None = ts_field(nullable=True)


class CaseStep(SQLModel, table=True):
    """One step of a case's timeline: what happened (``kind``), when, who recorded it."""

    __tablename__ = "case_step"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="enforcement_case.id", index=True)
    kind: str = Field(max_length=30)
    at: datetime = ts_field()
    by: str = Field(max_length=60)
    details: dict[str, Any] = json_field()
    recorded_at: datetime = ts_field(default_now=True)


class Alert(SQLModel, table=True):
    """A positive or suspicious result, sent to the grid group of its market."""

    __tablename__ = "alert"
    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="test_result.id", unique=True)
    market_id: int | None = Field(default=None, foreign_key="market.id", index=True)
    grid_group_id: int | None = Field(default=None, foreign_key="grid_group.id", index=True)
    level: str = Field(max_length=20)  # positive, suspicious
    raised_at: datetime = ts_field(index=True)
    target_minutes: float
    acknowledged_at: datetime | None = ts_field(nullable=True)
    acknowledged_by: str = Field(default="", max_length=60)
    arrived_at: datetime | None = ts_field(nullable=True)
    arrived_by: str = Field(default="", max_length=60)


class VendorRefusal(SQLModel, table=True):
    """A vendor refused to let a sample be taken or tested (counts against the credit grade)."""

    __tablename__ = "vendor_refusal"
    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="vendor.id", index=True)
    at: datetime = ts_field()
    by: str = Field(max_length=60)
    note: str = Field(default="", max_length=1000)


class VendorGradeHistory(SQLModel, table=True):
    """Each change of a vendor's credit grade, with the reason and the rules edition used."""

    __tablename__ = "vendor_grade_history"
    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="vendor.id", index=True)
    grade: str = Field(max_length=1)
    previous: str | None = Field(default=None, max_length=1)
    reason: str = Field(max_length=1000)
    metrics: dict[str, Any] = json_field()
    rules_edition: str = Field(max_length=60)
    computed_at: datetime = ts_field()   # the time the grade is "as of" (the record up to it)
    computed_by: str = Field(max_length=60)
    # issue 16: when the decision was taken (history is ordered by it, not by the as-of time),
    # and the reason in Chinese too (``reason`` is the English text)
    decided_at: datetime = ts_field(default_now=True)
    reason_zh: str = Field(default="", max_length=1000)
