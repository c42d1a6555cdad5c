"""Results out of the store: ``export_results`` (CSV/XLSX, names in Chinese and English, local
time, cells a spreadsheet would run as a formula escaped) and ``sample_results`` (one sample's
results with the reasons for each verdict). An export imports again without adding anything
(``lims.files.results_import``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import InvalidInput, NotFound
from lims.files.tabular import write_csv, write_xlsx
from lims.models import (
    Analyte,
    Commodity,
    Instrument,
    Market,
    Method,
    Sample,
    TestResult,
    Threshold,
    Vendor,
)
from lims.models.enums import ResultStatus
from lims.reference.lookup import RefCache
from lims.security.auth import Actor, require
from lims.timeutil import aware, local_tz
from lims.wire.readings import RAW_FIELDS, column_help
from lims.wire.results import SampleResults

EXPORT_COLUMNS: tuple[str, ...] = (
    "result_id", "sample_code", "market", "market_name", "county", "market_kind",
    "vendor_stall", "vendor_name", "commodity", "commodity_en", "method", "method_name_zh",
    "method_name_en", "analyte", "analyte_en", "instrument", "channel", "tested_at", "tested_by",
    "control_delta", "sample_delta", "colour", "blank_ok", "t", "c", "value", "unit",
    "instrument_verdict", "computed_value", "computed_unit", "verdict", "verdict_zh",
    "verdict_mismatch", "status", "calibration_state", "retest_of", "standard", "reasons",
    "source", "resident_purchase", "counts", "count_date", "ingest_key",
)
#: ``counts`` is true on the one result per sample that carries its final verdict in the pass
#: rates and ``count_date`` is the day it counts under (the sample's; issue 16): a pass rate
#: computed from the rows with counts = true equals the app's
#: columns of the export that an import of it skips (verdicts, names … are recomputed)
IGNORED_ON_IMPORT = frozenset(EXPORT_COLUMNS) - frozenset(column_help())
VERDICT_ZH = {"negative": "阴性", "suspicious": "可疑", "positive": "阳性", "invalid": "无效",
              "compliant": "合格", "noncompliant": "不合格"}


# --------------------------------------------------------------------------- export

def export_query(session: Session, market: str | None, start: date | None, end: date | None):
    tr = TestResult.__table__.c
    sa_, mk, vd, co, me, an, ins, th = (Sample.__table__.c, Market.__table__.c, Vendor.__table__.c,
                                        Commodity.__table__.c, Method.__table__.c,
                                        Analyte.__table__.c, Instrument.__table__.c,
                                        Threshold.__table__.c)
    q = (sa.select(tr.id, tr.tested_at, tr.tested_by, tr.channel, tr.raw, tr.computed_value,
                   tr.computed_unit, tr.verdict, tr.instrument_verdict, tr.verdict_mismatch,
                   tr.status, tr.calibration_state, tr.retest_of_id, tr.verdict_reasons,
                   tr.source, tr.counts, tr.count_date, tr.ingest_key, sa_.code, sa_.resident_purchase, mk.code.label("market_code"),
                   mk.name.label("market_name"), mk.county, mk.kind, vd.stall,
                   vd.name.label("vendor_name"), co.name_zh.label("commodity_zh"),
                   co.name_en.label("commodity_en"), me.code.label("method_code"),
                   me.name_zh.label("method_zh"), me.name_en.label("method_en"),
                   an.name_zh.label("analyte_zh"), an.name_en.label("analyte_en"),
                   ins.serial_no, th.standard, th.edition)
         .select_from(TestResult.__table__)
         .join(Sample.__table__, sa_.id == tr.sample_id)
         .join(Commodity.__table__, co.id == tr.commodity_id)
         .join(Method.__table__, me.id == tr.method_id)
         .outerjoin(Market.__table__, mk.id == tr.market_id)
         .outerjoin(Vendor.__table__, vd.id == sa_.vendor_id)
         .outerjoin(Analyte.__table__, an.id == tr.analyte_id)
         .outerjoin(Instrument.__table__, ins.id == tr.instrument_id)
         .outerjoin(Threshold.__table__, th.id == tr.threshold_id)
         .where(tr.status != ResultStatus.STAGED.value)   # an import not published yet
         .order_by(tr.tested_at, tr.id))
    if market:
        q = q.where(tr.market_id == RefCache.load(session).market(market).id)
    if start:
        q = q.where(tr.local_date >= start)
    if end:
        q = q.where(tr.local_date <= end)
    return q


def export_rows(*, session: Session, market: str | None = None, start: date | None = None,
                end: date | None = None, tz: ZoneInfo | None = None) -> Iterator[list[Any]]:
    """Rows in EXPORT_COLUMNS order, timestamps in local time."""
    tz = tz or local_tz()
    if start and end and start > end:
        raise InvalidInput(f"--from {start} is after --to {end}")
    q = export_query(session, market, start, end)
    for r in session.execute(q.execution_options(yield_per=1000)):
        raw = r.raw or {}
        yield [
            r.id, r.code, r.market_code, r.market_name, r.county, r.kind, r.stall, r.vendor_name,
            r.commodity_zh, r.commodity_en, r.method_code, r.method_zh, r.method_en,
            r.analyte_zh, r.analyte_en, r.serial_no, r.channel,
            aware(r.tested_at, tz).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), r.tested_by,
            *(raw.get(k) for k in RAW_FIELDS),
            r.instrument_verdict, r.computed_value, r.computed_unit, r.verdict,
            VERDICT_ZH.get(r.verdict, r.verdict), bool(r.verdict_mismatch), r.status,
            r.calibration_state, r.retest_of_id,
            f"{r.standard}-{r.edition}" if r.standard else None,
            "; ".join(r.verdict_reasons or []), r.source, bool(r.resident_purchase),
            bool(r.counts), r.count_date.isoformat() if r.count_date else None,
            r.ingest_key,
        ]


def export_results(*, session: Session, actor: Actor, out: BinaryIO, fmt: str = "csv",
                   market: str | None = None, start: date | None = None, end: date | None = None,
                   tz: ZoneInfo | None = None, encoding: str = "utf-8-sig") -> int:
    """Write the results as CSV or XLSX to ``out``; returns the number of rows."""
    require(actor, "results.read")
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"--format must be csv or xlsx, got {fmt!r}")
    rows = export_rows(session=session, market=market, start=start, end=end, tz=tz)
    if fmt == "csv":
        return write_csv(out, list(EXPORT_COLUMNS), rows, encoding=encoding)
    return write_xlsx(out, list(EXPORT_COLUMNS), rows)


# --------------------------------------------------------------------------- show

def sample_results(*, session: Session, actor: Actor, code: str,
                   tz: ZoneInfo | None = None) -> dict[str, Any]:
    """One sample with every result (oldest first), verdicts with their reasons, in the shape of
    ``lims.wire.results.SampleResults``."""
    require(actor, "results.read")
    tz = tz or local_tz()
    s = session.exec(select(Sample).where(Sample.code == code.strip().upper())).first()
    if s is None:
        raise NotFound(f"unknown sample code {code!r}")
    market = session.get(Market, s.market_id) if s.market_id else None
    vendor = session.get(Vendor, s.vendor_id) if s.vendor_id else None
    commodity = session.get(Commodity, s.commodity_id)
    results = []
    q = select(TestResult).where(TestResult.sample_id == s.id).order_by(TestResult.tested_at,
                                                                        TestResult.id)
    for tr in session.exec(q):
        method = session.get(Method, tr.method_id)
        analyte = session.get(Analyte, tr.analyte_id) if tr.analyte_id else None
        inst = session.get(Instrument, tr.instrument_id) if tr.instrument_id else None
        results.append({
            "id": tr.id, "method": method.code if method else None,
            "analyte": analyte.name_zh if analyte else None,
            "tested_at": tr.tested_at.astimezone(tz).isoformat(), "tested_by": tr.tested_by,
            "instrument": inst.serial_no if inst else None, "channel": tr.channel,
            "raw": tr.raw, "value": tr.computed_value, "unit": tr.computed_unit,
            "verdict": tr.verdict, "instrument_verdict": tr.instrument_verdict,
            "mismatch": tr.verdict_mismatch, "status": tr.status,
            "calibration_state": tr.calibration_state, "retest_of": tr.retest_of_id,
            "reasons": list(tr.verdict_reasons or []), "source": tr.source,
        })
    return SampleResults.model_validate({
        "code": s.code, "uuid": s.uuid,
        "market": market.code if market else None, "market_name": market.name if market else None,
        "vendor_stall": vendor.stall if vendor else None,
        "vendor_name": vendor.name if vendor else None,
        "commodity": commodity.name_zh if commodity else None,
        "commodity_en": commodity.name_en if commodity else None,
        "resident_purchase": s.resident_purchase,
        "taken_at": s.taken_at.astimezone(tz).isoformat(), "taken_by": s.taken_by,
        "results": results,
    }).model_dump()
