"""A sample and its results on the wire (``lims results show --json``, the API)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ResultPublic(BaseModel):
    """One stored result with the reasons for its verdict."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    method: str | None
    analyte: str | None
    tested_at: str            # ISO 8601 in local time
    tested_by: str
    instrument: str | None
    channel: str | None
    raw: dict[str, Any]
    value: float | None
    unit: str | None
    verdict: str
    instrument_verdict: str | None
    mismatch: bool
    status: str
    calibration_state: str
    retest_of: int | None
    reasons: list[str]
    source: str


class SampleResults(BaseModel):
    """A sample, where it was taken, and every result (oldest first)."""

    code: str
    uuid: str
    market: str | None
    market_name: str | None
    vendor_stall: str | None
    vendor_name: str | None
    commodity: str | None
    commodity_en: str | None
    resident_purchase: bool
    taken_at: str
    taken_by: str
    results: list[ResultPublic]
