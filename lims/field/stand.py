"""Sampling and testing at the stand: one call from pick to verdict, plus the public result.

``record_field_test`` takes an event or a market, a vendor stall (or a resident's purchase), a
commodity and either an instrument reading or a test-card colour; it stores the reading through
the intake pipeline (``lims.intake.pipeline.accept_readings``: verdict, gate, case, alert, grade)
and returns the verdict, the sample's short code, the vendor's grade and the URL the slip's QR
code points at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from lims.enforcement.grades import current_grade
from lims.enforcement.rules import load_enforcement_rules
from lims.errors import NotFound, RowError, ValidationFailed
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import (
    Commodity,
    EnforcementCase,
    Market,
    Method,
    OutreachEvent,
    Sample,
    TestResult,
    Vendor,
)
from lims.reference.lookup import RefCache
from lims.security.auth import Actor, require
from lims.settings import load_settings
from lims.timeutil import local_tz, now

#: Path of the public result page in the app (the dashboard registers a page at this path).
PUBLIC_PAGE_PATH = "/public"
CARD_METHOD = "ENZ-CARD"

VERDICT_LABELS: dict[str, tuple[str, str]] = {
    "negative": ("阴性", "negative"), "positive": ("阳性", "POSITIVE"),
    "suspicious": ("可疑", "suspicious"), "invalid": ("无效", "invalid"),
    "compliant": ("合格", "compliant"), "noncompliant": ("不合格", "NONCOMPLIANT"),
    "voided": ("已作废", "voided"),
}


def public_url(code: str, base_url: str | None = None) -> str:
    """The public page of a sample's result, e.g. ``http://host:8501/public?code=K7Q2M9XD``."""
    base = (base_url or load_settings().public_base_url).rstrip("/")
    return f"{base}{PUBLIC_PAGE_PATH}?{urlencode({'code': code})}"


@dataclass(frozen=True)
class FieldTestOutcome:
    result_id: int
    sample_code: str
    verdict: str
    value: float | None
    unit: str | None
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    status: str
    calibration_state: str
    vendor_id: int | None
    vendor_stall: str | None
    vendor_grade: str | None
    vendor_grade_reason: str | None
    case_id: int | None
    alert_id: int | None
    public_url: str
    duplicate: bool = False


def record_field_test(*, session: Session, actor: Actor, commodity: str,
                      event_id: int | None = None, market: str | None = None,
                      vendor_stall: str | None = None, resident_purchase: bool = False,
                      method: str | None = None, reading: dict[str, Any] | None = None,
                      card_colour: str | None = None, instrument_serial: str | None = None,
                      instrument_verdict: str | None = None, channel: str | None = None,
                      analyte: str | None = None, tested_at: datetime | None = None,
                      base_url: str | None = None) -> FieldTestOutcome:
    """Store one test at the stand and return what the tester and the slip show."""
    require(actor, "results.create")
    where = "field test"
    errors: list[RowError] = []
    if (reading is None) == (card_colour is None):
        errors.append(RowError(where, "reading", "give either an instrument reading or a "
                                                  "test-card colour (exactly one)"))
    if card_colour is not None:
        method = method or CARD_METHOD
        reading = {"colour": card_colour}
    elif not method:
        errors.append(RowError(where, "method", "missing (the method of the instrument reading)"))
    if vendor_stall and resident_purchase:
        errors.append(RowError(where, "vendor_stall", "a resident's purchase has no vendor "
                                                      "stall: give one or the other"))
    if not vendor_stall and not resident_purchase:
        errors.append(RowError(where, "vendor_stall", "missing (pick a vendor or mark the "
                                                      "sample as a resident's purchase)"))
    event = None
    if event_id is not None:
        event = session.get(OutreachEvent, event_id)
        if event is None:
            errors.append(RowError(where, "event_id", f"no outreach event with id {event_id}"))
    if market is None and event is not None and event.market_id is not None:
        m = session.get(Market, event.market_id)
        market = m.code if m else None
    if market is None and event_id is None:
        errors.append(RowError(where, "market", "missing (pick an event or a market)"))
    if market is None and vendor_stall:
        errors.append(RowError(where, "market", f"vendor stall {vendor_stall!r} needs a market"))
    if errors:
        raise ValidationFailed(errors, where)
    cache = RefCache.load(session)
    tested_at = tested_at or now().replace(microsecond=0)
    report = accept_readings(session=session, actor=actor, cache=cache, readings=[ReadingIn(
        method=method, raw=dict(reading or {}), tested_at=tested_at, market=market,
        vendor_stall=vendor_stall, resident_purchase=resident_purchase, commodity=commodity,
        analyte=analyte, instrument_serial=instrument_serial, channel=channel,
        instrument_verdict=instrument_verdict, tested_by=actor.username, event_id=event_id,
        source="field", row=where)])
    stored = report.stored[0]
    tr = session.get(TestResult, stored.result_id)
    sample = session.get(Sample, tr.sample_id)
    grade = grade_reason = None
    vendor = session.get(Vendor, sample.vendor_id) if sample.vendor_id else None
    if vendor is not None:
        session.refresh(vendor)   # graded again by the pipeline
        grade, grade_reason = current_grade(session=session, vendor_id=vendor.id)
    v = stored.verdict
    return FieldTestOutcome(
        result_id=tr.id, sample_code=sample.code, verdict=tr.verdict, value=tr.computed_value,
        unit=tr.computed_unit, reasons=tuple(v.reasons), warnings=tuple(v.warnings),
        status=tr.status, calibration_state=tr.calibration_state,
        vendor_id=vendor.id if vendor else None, vendor_stall=vendor.stall if vendor else None,
        vendor_grade=grade, vendor_grade_reason=grade_reason,
        case_id=stored.case_id, alert_id=stored.alert_id,
        public_url=public_url(sample.code, base_url), duplicate=stored.duplicate)


@dataclass
class PublicResult:
    """What the public page and the slip show for one sample (no personal data)."""

    code: str
    market: str
    stall: str                # "居民自购 / resident's purchase" when no vendor
    commodity_zh: str
    commodity_en: str
    tested_at: datetime
    method_zh: str
    method_en: str
    verdict: str
    verdict_zh: str
    verdict_en: str
    value: float | None
    unit: str | None
    handling: list[str] = field(default_factory=list)   # bilingual lines about a positive
    retests: list[dict[str, Any]] = field(default_factory=list)
    objection_hours: float = 0.0


def public_result(*, session: Session, code: str, tz: ZoneInfo | None = None) -> PublicResult:
    """The first result of sample ``code`` with its follow-up (for the slip and public page)."""
    tz = tz or local_tz()
    sample = session.exec(select(Sample).where(Sample.code == code.strip().upper())).first()
    if sample is None:
        raise NotFound(f"no sample with code {code!r}")
    results = session.exec(select(TestResult).where(TestResult.sample_id == sample.id)
                           .order_by(TestResult.tested_at, TestResult.id)).all()
    first = next((r for r in results if r.retest_of_id is None), results[0] if results else None)
    if first is None:
        raise NotFound(f"sample {code} has no result yet")
    method = session.get(Method, first.method_id)
    commodity = session.get(Commodity, sample.commodity_id)
    market = session.get(Market, sample.market_id) if sample.market_id else None
    vendor = session.get(Vendor, sample.vendor_id) if sample.vendor_id else None
    verdict = "voided" if first.status == "voided" else first.verdict
    zh, en = VERDICT_LABELS.get(verdict, (verdict, verdict))
    rules = load_enforcement_rules()
    out = PublicResult(
        code=sample.code, market=market.name if market else "",
        stall=vendor.stall if vendor else "居民自购 / resident's purchase",
        commodity_zh=commodity.name_zh, commodity_en=commodity.name_en,
        tested_at=first.tested_at, method_zh=method.name_zh, method_en=method.name_en,
        verdict=verdict, verdict_zh=zh, verdict_en=en, value=first.computed_value,
        unit=first.computed_unit, objection_hours=rules.objection_hours)
    for r in results:
        if r.retest_of_id == first.id and r.status != "voided":
            m = session.get(Method, r.method_id)
            out.retests.append({"method": m.name_en, "verdict": r.verdict,
                                "value": r.computed_value, "unit": r.computed_unit,
                                "tested_at": r.tested_at})
    case = session.exec(select(EnforcementCase)
                        .where(EnforcementCase.result_id == first.id)).first()
    if case is not None:
        out.handling = handling_lines(case, rules.disposals, tz)
    return out


def handling_lines(case: EnforcementCase, disposals: dict[str, dict[str, str]],
                   tz: ZoneInfo | None = None) -> list[str]:
    """Bilingual lines saying how a positive was handled (public board and result page)."""
    tz = tz or local_tz()

    def t(ts: datetime) -> str:
        return ts.astimezone(tz).strftime("%m-%d %H:%M")

    lines = []
    if case.sale_suspended_at:
        lines.append(f"已暂停销售 / sale suspended {t(case.sale_suspended_at)}")
    if case.objection_at is not None:
        lines.append("异议已受理 / objection accepted" if case.objection_accepted
                     else "异议超时未受理 / objection refused (late)")
    if case.outcome == "confirmed":
        lines.append("实验室确证不合格 / confirmed by the lab")
    elif case.outcome == "overturned":
        lines.append("实验室复检合格 / cleared by the lab")
    if case.disposal:
        d = disposals.get(case.disposal, {})
        lines.append(f"{d.get('zh', case.disposal)} / {d.get('en', case.disposal)}")
    if case.status == "closed":
        lines.append("已结案 / closed")
    elif not lines:
        lines.append("处置中 / being handled")
    return lines
