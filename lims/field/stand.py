"""Sampling and testing at the stand: one call from pick to verdict, plus the public result.

``record_field_test`` takes an event or a market, a vendor stall (or a resident's purchase), a
commodity and either an instrument reading or a test-card colour; it stores the reading through
the intake pipeline (``lims.intake.pipeline.accept_readings``: verdict, gate, case, alert, grade)
and returns the verdict, the sample's short code, the vendor's grade and the URL the slip's QR
code points at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from lims.enforcement.grades import current_grade
from lims.enforcement.rules import load_enforcement_rules
from lims.errors import NotFound, RowError, ValidationFailed
from lims.field.samples import FUTURE_TOLERANCE
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import (
    Commodity,
    EnforcementCase,
    Instrument,
    Market,
    Method,
    OutreachEvent,
    Sample,
    TestResult,
    UnboundReading,
    Vendor,
)
from lims.reference.lookup import RefCache
from lims.security.auth import Actor, require
from lims.settings import load_settings
from lims.timeutil import local_tz, now, refuse_future

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
                      base_url: str | None = None, sample_code: str | None = None,
                      source: str = "field") -> FieldTestOutcome:
    """Store one test at the stand and return what the tester and the slip show.

    With ``sample_code`` (a sample registered at the stall) the reading lands on that sample:
    its market, stall and commodity come from the registration, not from the other arguments.
    """
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
    if sample_code:   # a registered sample: where and what come from its registration
        vendor_stall, resident_purchase, market, event_id = None, False, None, None
        if session.exec(select(Sample.id).where(
                Sample.code == sample_code.strip().upper())).first() is None:
            errors.append(RowError(where, "sample_code", f"unknown sample code {sample_code!r} "
                                                         "(register the sample first)"))
    elif vendor_stall and resident_purchase:
        errors.append(RowError(where, "vendor_stall", "a resident's purchase has no vendor "
                                                      "stall: give one or the other"))
    elif not vendor_stall and not resident_purchase:
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
    if market is None and event_id is None and not sample_code:
        errors.append(RowError(where, "market", "missing (pick an event or a market)"))
    if market is None and vendor_stall:
        errors.append(RowError(where, "market", f"vendor stall {vendor_stall!r} needs a market"))
    if errors:
        raise ValidationFailed(errors, where)
    cache = RefCache.load(session)
    tested_at = refuse_future(tested_at or now().replace(microsecond=0), "tested_at",
                              "field test")
    report = accept_readings(session=session, actor=actor, cache=cache, readings=[ReadingIn(
        method=method, raw=dict(reading or {}), tested_at=tested_at, market=market,
        vendor_stall=vendor_stall, resident_purchase=resident_purchase,
        commodity=None if sample_code else commodity,
        sample_code=sample_code.strip().upper() if sample_code else None,
        analyte=analyte, instrument_serial=instrument_serial, channel=channel,
        instrument_verdict=instrument_verdict, tested_by=actor.username, event_id=event_id,
        source=source, row=where)])
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
    results = session.exec(select(TestResult).where(TestResult.sample_id == sample.id,
                                                    TestResult.status != "staged")   # issue 18
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


# --------------------------------------------------------------------------- typed values

#: The values a tester types in per method kind (the raw keys of the verdict engine).
TYPED_KINDS = {"enzyme_inhibition": ("control_delta", "sample_delta"),
               "colloidal_gold": ("t", "c")}


def _typed_number(text: str | float | None) -> float | None:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    s = str(text or "").strip().replace("，", ".").replace(",", ".")
    try:
        value = float(s)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def typed_reading(method: Method, values: dict[str, str | float | None]) -> dict[str, float]:
    """The raw reading of typed-in values (strings as typed, or numbers) for ``method``;
    ``ValidationFailed`` with one ``RowError`` per bad field (field = the raw key)."""
    keys = TYPED_KINDS.get(method.kind)
    where = "typed values"
    if keys is None:
        raise ValidationFailed([RowError(where, "method", f"method {method.code} "
                                         f"({method.kind}) takes no typed values")], where)
    errors: list[RowError] = []
    raw: dict[str, float] = {}
    limit = float((method.params or {}).get("max_abs_delta", 4.0))
    for k in keys:
        typed = values.get(k)
        v = _typed_number(typed)
        if typed is None or str(typed).strip() == "":
            errors.append(RowError(where, k, "missing"))
        elif v is None:
            errors.append(RowError(where, k, f"{typed!r} is not a number"))
        elif method.kind == "enzyme_inhibition" and abs(v) > limit:
            errors.append(RowError(where, k, f"{v:g} is beyond the reader's range ±{limit:g}"))
        elif k == "control_delta" and v <= 0:
            errors.append(RowError(where, k, f"ΔA0 must be positive, got {v:g}"))
        elif method.kind == "colloidal_gold" and v < 0:
            errors.append(RowError(where, k, f"a line intensity is never negative, got {v:g}"))
        else:
            raw[k] = v
    if errors:
        raise ValidationFailed(errors, where)
    return raw


def record_typed_values(*, session: Session, actor: Actor, method: str,
                        values: dict[str, str | float | None], sample_code: str | None = None,
                        commodity: str = "", **where: Any) -> FieldTestOutcome:
    """Values typed in at the stand (enzyme ΔA0/ΔAt, gold T/C) as a manual reading, through the
    intake pipeline like every reading: on the registered sample ``sample_code``, else on a new
    sample of the stall or event in ``where`` (``record_field_test``'s arguments)."""
    require(actor, "results.create")
    m = RefCache.load(session).method(method)
    raw = typed_reading(m, values)
    return record_field_test(session=session, actor=actor, commodity=commodity, method=m.code,
                             reading=raw, sample_code=sample_code, source="manual", **where)


# --------------------------------------------------------------------------- instruments

READER_KINDS = ("pesticide_analyzer", "card_reader")
SENDING_WITHIN = timedelta(hours=1)


def default_instrument(*, session: Session, market_id: int | None = None,
                       at: datetime | None = None) -> int | None:
    """The instrument the field page opens on: the reader whose latest reading (stored or
    unbound) is the newest in the hour up to ``at`` — the market's own or one of no market
    before another market's; with none sending, the market's first reader by serial; None
    when there is no active reader."""
    at = at or now()
    readers = session.exec(select(Instrument).where(Instrument.active,
                                                    Instrument.kind.in_(READER_KINDS))
                           .order_by(Instrument.serial_no)).all()
    if not readers:
        return None
    ids = [i.id for i in readers]
    lo, hi = at - SENDING_WITHIN, at + FUTURE_TOLERANCE
    latest: dict[int, datetime] = {}
    for table in (TestResult, UnboundReading):
        for iid, ts in session.exec(select(table.instrument_id, table.tested_at).where(
                table.instrument_id.in_(ids), table.tested_at >= lo, table.tested_at <= hi)):
            if iid not in latest or ts > latest[iid]:
                latest[iid] = ts
    sending = [i for i in readers if i.id in latest]
    if sending:
        best = max(sending, key=lambda i: (i.market_id in (market_id, None), latest[i.id]))
        return best.id
    return next((i.id for i in readers if i.market_id == market_id), readers[0].id)


def instrument_channels(*, session: Session, instrument_id: int) -> int:
    """How many channels the instrument has: its profile's (``[simulator] channels``), else 12
    for an analyzer and 1 for a card reader."""
    inst = session.get(Instrument, instrument_id)
    if inst is None:
        raise NotFound(f"no instrument with id {instrument_id}")
    if inst.profile:
        from instruments.profiles import load_profile

        try:
            prof = load_profile(inst.profile, (load_settings().var_dir / "profiles",))
            n = int(prof.simulator.get("channels", 0))
        except (ValueError, OSError):
            n = 0
        if n > 0:
            return n
    return 12 if inst.kind == "pesticide_analyzer" else 1
