"""Instruments and their calibration records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Field, SQLModel

from lims.models._types import json_field, ts_field


class Instrument(SQLModel, table=True):
    __tablename__ = "instrument"
    id: int | None = Field(default=None, primary_key=True)
    serial_no: str = Field(unique=True, max_length=60)
    model: str = Field(max_length=100)
    kind: str = Field(max_length=30)         # InstrumentKind
    driver: str = Field(max_length=30)       # astm, ad, mtsics, sbi, ohaus, profile
    profile: str | None = Field(default=None, max_length=100)  # profile name for driver=profile
    port_settings: dict[str, Any] = json_field()  # overrides of the driver's defaults
    location: str = Field(default="", max_length=200)
    market_id: int | None = Field(default=None, foreign_key="market.id")
    method_id: int | None = Field(default=None, foreign_key="method.id")  # default method
    calibration_interval_days: int = 365
    active: bool = True


class CalibrationRecord(SQLModel, table=True):
    __tablename__ = "calibration_record"
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instrument.id", index=True)
    kind: str = Field(max_length=30)          # CalibrationKind
    performed_at: datetime = ts_field(index=True)
    performed_by: str = Field(max_length=100)
    standard: str = Field(default="", max_length=100)          # e.g. "JJF 1729-2018"
    reference_equipment: str = Field(default="", max_length=300)
    readings: dict[str, Any] = json_field()
    outcome: str = Field(max_length=10)       # pass / fail
    report: dict[str, Any] = json_field()     # the computed report (numbers that decided it)
    due_date: date | None = None
    notes: str = Field(default="", max_length=2000)
    # the uploaded certificate (an attachment of the record, lims.files.attachments; older ones
    # under certificates/, lims.metrology.attachments): path under LIMS_VAR_DIR, SHA-256
    # of its content, MIME type; "" when none was uploaded
    certificate_file: str = Field(default="", max_length=300)
    certificate_sha256: str = Field(default="", max_length=64)
    certificate_type: str = Field(default="", max_length=50)
