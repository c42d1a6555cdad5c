"""Readings on the wire: what a file row, a CLI ``--json`` call or an API request carries in,
and what the intake pipeline answers for each.

``ReadingCreate`` lists the import's columns (the README's table is made from the same fields);
``to_reading_in`` turns it into the pipeline's ``ReadingIn``. ``ReadingAccepted`` is the answer
per reading: ``stored`` or ``duplicate``, the result id, the sample code, the verdict and what it
set in motion.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lims.intake.readings import ReadingIn, Stored

RAW_FIELDS = ("control_delta", "sample_delta", "colour", "blank_ok", "t", "c", "value", "unit")


class ReadingCreate(BaseModel):
    """One reading as sent by a file row, the CLI or the API (names in Chinese or English)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sample_code: str | None = Field(
        None, description="code of an existing sample, or a new code to create it under "
                          "(optional)")
    market: str | None = Field(
        None, description="market code or name (required unless the sample exists or "
                          "resident_purchase)")
    vendor_stall: str | None = Field(None, description="vendor's stall in that market (optional)")
    resident_purchase: bool = Field(
        False, description="true for produce a resident brought to an outreach event")
    commodity: str | None = Field(
        None, description="commodity, Chinese or English name (required for a new sample)")
    method: str = Field(
        description="method code, e.g. ENZ-5009.199, ENZ-CARD, KJ-GOLD-CBF, LAB-GCMS (required)")
    analyte: str | None = Field(
        None, description="pesticide, Chinese or English (required for lab methods)")
    instrument: str | None = Field(
        None, description="instrument serial number (optional; its calibration gates the "
                          "result)")
    tested_at: datetime = Field(
        description="test time, ISO 8601 or YYYY/MM/DD HH:MM; no offset = local time (required)")
    tested_by: str = Field("", description="tester's name")
    channel: str | None = Field(None, description="analyzer channel")
    control_delta: float | None = Field(
        None, description="enzyme inhibition: control ΔA0 (absorbance)")
    sample_delta: float | None = Field(
        None, description="enzyme inhibition: sample ΔAt (absorbance)")
    colour: str | None = Field(
        None, description="test card: pad colour (unchanged, faint_blue, sky_blue …)")
    blank_ok: bool | None = Field(
        None, description="test card: false when the blank card did not turn blue")
    t: float | None = Field(None, description="colloidal gold: T line intensity")
    c: float | None = Field(None, description="colloidal gold: C line intensity")
    value: float | None = Field(None, description="lab: measured concentration")
    unit: str | None = Field(None, description="lab: unit of value (mg/kg by default)")
    instrument_verdict: str | None = Field(
        None, description="the instrument's own verdict (阴性/阳性/negative …), kept beside ours")
    standard: str | None = Field(
        None, description="lab: pin the MRL edition, e.g. 'GB 2763-2021' (default: in force on "
                          "the day)")
    kit_lot: str | None = Field(
        None, description="test kit lot (批号) tested with, LOT or KIT/LOT; an unknown lot is "
                          "refused, an expired one holds the result for review (optional)")
    ingest_key: str | None = Field(
        None, pattern=r"^[0-9A-Za-z:._-]{16,64}$",
        description="the sender's idempotency key (a station's push sends its own): a reading "
                    "with a key stored before answers 'duplicate' (optional; default: a hash "
                    "of the reading)")

    def to_reading_in(self, *, source: str, row: int | str | None = None,
                      event_id: int | None = None) -> ReadingIn:
        raw = {k: getattr(self, k) for k in RAW_FIELDS if getattr(self, k) not in (None, "")}
        return ReadingIn(
            method=self.method, raw=raw, tested_at=self.tested_at,
            sample_code=self.sample_code.upper() if self.sample_code else None,
            market=self.market or None, vendor_stall=self.vendor_stall or None,
            resident_purchase=self.resident_purchase, commodity=self.commodity or None,
            analyte=self.analyte or None, instrument_serial=self.instrument or None,
            channel=self.channel or None, instrument_verdict=self.instrument_verdict or None,
            tested_by=self.tested_by, standard=self.standard or None, event_id=event_id,
            ingest_key=self.ingest_key or None, source=source, row=row,
            kit_lot=self.kit_lot or None)


def column_help() -> dict[str, str]:
    """Import column → what it holds, in the order of the model."""
    return {name: f.description or "" for name, f in ReadingCreate.model_fields.items()}


class ReadingAccepted(BaseModel):
    """What the pipeline made of one reading."""

    status: Literal["stored", "duplicate", "unbound"]
    result_id: int
    sample_code: str
    verdict: str
    value: float | None = None
    unit: str | None = None
    result_status: str = Field(description="recorded, held (calibration gate) …")
    calibration_state: str
    instrument_verdict: str | None = None
    mismatch: bool = False
    reasons: list[str] = Field(default_factory=list)
    case_id: int | None = None
    alert_id: int | None = None
    unbound_id: int | None = Field(None, description="kept in the unbound queue: no sample")

    @classmethod
    def of(cls, s: Stored) -> ReadingAccepted:
        v = s.verdict
        return cls(status=s.state, result_id=s.result_id, sample_code=s.sample_code,
                   verdict=v.outcome.value, value=v.value, unit=v.unit, result_status=s.status,
                   calibration_state=s.calibration_state, instrument_verdict=s.instrument_verdict,
                   mismatch=s.mismatch, reasons=list(v.reasons), case_id=s.case_id,
                   alert_id=s.alert_id, unbound_id=s.unbound_id)
