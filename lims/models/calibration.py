"""Daily QC control series and outreach metering checks (issue 5).

Calibration records themselves are ``CalibrationRecord`` (instruments.py). ``QcControlValue`` is
one reading of a control material on an instrument, the series Levey–Jennings/Westgard runs on;
``MeterCheck`` is one resident's household instrument checked at an outreach event. It holds no
personal data: only whether the resident agreed to the check being recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from lims.models._types import json_field, ts_field


class QcControlValue(SQLModel, table=True):
    __tablename__ = "qc_control_value"
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instrument.id", index=True)
    control: str = Field(max_length=100)       # control material / lot, e.g. "ΔA0 control"
    channel: str | None = Field(default=None, max_length=10)
    measured_at: datetime = ts_field(index=True)
    value: float
    baseline: bool = False                      # sets the Levey–Jennings mean and SD
    calibration_record_id: int | None = Field(default=None, foreign_key="calibration_record.id")
    recorded_by: str = Field(default="", max_length=100)


class MeterCheck(SQLModel, table=True):
    __tablename__ = "meter_check"
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="outreach_event.id", index=True)
    kind: str = Field(max_length=20)            # body_scale / bp_meter / kitchen_scale
    make: str = Field(default="", max_length=100)
    model: str = Field(default="", max_length=100)
    readings: dict[str, Any] = json_field()
    outcome: str = Field(max_length=10)         # pass / fail
    report: dict[str, Any] = json_field()
    consent: bool = True                        # the resident agreed to the check being recorded
    checked_at: datetime = ts_field(index=True)
    checked_by: str = Field(default="", max_length=100)
