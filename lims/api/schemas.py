"""Request and response bodies of the HTTP API (shown in the OpenAPI document at /api/docs).

A reading uploaded is exactly ``lims.wire.readings.ReadingCreate`` (the import's columns) and the
answer per reading is ``lims.wire.readings.ReadingAccepted``; the rest is read-only data for
stations (reference data) and the public (board, result page).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from lims.wire.readings import ReadingAccepted, ReadingCreate

MAX_READINGS = 5000


class ReadingBatch(BaseModel):
    """Readings to store, all or nothing."""

    readings: list[ReadingCreate] = Field(min_length=1, max_length=MAX_READINGS,
                                          description=f"1 to {MAX_READINGS} readings")


class ReadingsAnswer(BaseModel):
    stored: int = Field(description="readings stored now")
    duplicates: int = Field(description="readings stored before (same ingest key): nothing "
                                        "stored again")
    results: list[ReadingAccepted] = Field(description="one per reading, in the order sent")


class Health(BaseModel):
    status: str
    version: str
    database: str


class VendorOut(BaseModel):
    stall: str
    name: str
    credit_grade: str


class MarketOut(BaseModel):
    code: str
    name: str
    county: str
    township: str
    kind: str
    vendors: list[VendorOut]


class NamedOut(BaseModel):
    name_zh: str
    name_en: str
    category: str = Field(description="commodity category, or the pesticide class of an "
                                      "analyte")


class MethodOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    standard: str
    edition: str
    kind: str
    is_rapid: bool
    analyte: str | None = Field(description="the kit's target (English name), if any")
    params: dict[str, Any] = Field(description="cut-offs, bands, kit parameters with sources")


class ThresholdOut(BaseModel):
    analyte: str
    commodity: str | None
    commodity_category: str | None
    standard: str
    edition: str
    value: float
    unit: str
    effective_from: date | None
    confirmed: bool


class InstrumentOut(BaseModel):
    serial_no: str
    model: str
    kind: str
    driver: str
    profile: str | None
    market: str | None = Field(description="market code")
    method: str | None = Field(description="configured method code")
    calibration_interval_days: int
    active: bool


class Reference(BaseModel):
    """What a station needs to test offline: places, vendors, methods and kits, limits,
    instruments."""

    markets: list[MarketOut]
    commodities: list[NamedOut]
    analytes: list[NamedOut]
    methods: list[MethodOut]
    thresholds: list[ThresholdOut]
    instruments: list[InstrumentOut]


class BoardRowOut(BaseModel):
    tested_at: datetime
    code: str
    commodity_zh: str
    commodity_en: str
    stall: str
    method_zh: str
    verdict: str
    verdict_zh: str
    handling: list[str]


class BoardOut(BaseModel):
    market: str
    day: date
    week_start: date
    today: list[BoardRowOut]
    week: list[BoardRowOut]
    today_counts: dict[str, int]
    week_counts: dict[str, int]
