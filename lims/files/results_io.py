"""Results in and out of files: ``import_results`` (CSV/XLSX, all-or-nothing through the ingest
service), ``export_results`` (CSV/XLSX, names in Chinese and English, local time, formula
injection escaped) and ``sample_results`` (one sample's results with their reasons).

Import columns (header names, case-insensitive; see IMPORT_COLUMNS): a row is one reading. Rows
that name a ``sample_code`` the database knows add a result to that sample (a re-test, a lab
result), linked to the sample's first screen through ``retest_of_id``; an unknown code creates
the sample under that code (market/commodity required); no code creates a new sample. A row identical to a result the sample already has (same method, time and
raw values) is skipped as a duplicate, so importing the same file, or an export, twice changes
nothing. Columns of the export that the import does not need (verdict, names …) are ignored.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.enforcement.followup import follow_up
from lims.errors import NotFound, RowError, ValidationFailed
from lims.files.tabular import (
    FileFormatError,
    Table,
    iter_nonblank,
    read_table,
    unescape,
    write_csv,
    write_xlsx,
)
from lims.intake.pipeline import ReadingIn, ingest
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
from lims.reference.lookup import RefCache
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import DEFAULT_TZ, aware, now

#: column → what it holds (the README lists the same; a test keeps them in step)
IMPORT_COLUMNS: dict[str, str] = {
    "sample_code": "code of an existing sample, or a new code to create it under (optional)",
    "market": "market code or name (required unless the sample exists or resident_purchase)",
    "vendor_stall": "vendor's stall in that market (optional)",
    "resident_purchase": "true for produce a resident brought to an outreach event",
    "commodity": "commodity, Chinese or English name (required for a new sample)",
    "method": "method code, e.g. ENZ-5009.199, ENZ-CARD, KJ-GOLD-CBF, LAB-GCMS (required)",
    "analyte": "pesticide, Chinese or English (required for lab methods)",
    "instrument": "instrument serial number (optional; its calibration gates the result)",
    "tested_at": "test time, ISO 8601 or YYYY/MM/DD HH:MM; no offset = local time (required)",
    "tested_by": "tester's name",
    "channel": "analyzer channel",
    "control_delta": "enzyme inhibition: control ΔA0 (absorbance)",
    "sample_delta": "enzyme inhibition: sample ΔAt (absorbance)",
    "colour": "test card: pad colour (unchanged, faint_blue, sky_blue …)",
    "blank_ok": "test card: false when the blank card did not turn blue",
    "t": "colloidal gold: T line intensity",
    "c": "colloidal gold: C line intensity",
    "value": "lab: measured concentration",
    "unit": "lab: unit of value (mg/kg by default)",
    "instrument_verdict": "the instrument's own verdict (阴性/阳性/negative …), kept beside ours",
    "standard": "lab: pin the MRL edition, e.g. 'GB 2763-2021' (default: in force on the day)",
}
NUMBER_COLUMNS = ("control_delta", "sample_delta", "t", "c", "value")
RAW_COLUMNS = ("control_delta", "sample_delta", "colour", "blank_ok", "t", "c", "value", "unit")

EXPORT_COLUMNS: tuple[str, ...] = (
    "result_id", "sample_code", "market", "market_name", "county", "market_kind",
    "vendor_stall", "vendor_name", "commodity", "commodity_en", "method", "method_name_zh",
    "method_name_en", "analyte", "analyte_en", "instrument", "channel", "tested_at", "tested_by",
    "control_delta", "sample_delta", "colour", "blank_ok", "t", "c", "value", "unit",
    "instrument_verdict", "computed_value", "computed_unit", "verdict", "verdict_zh",
    "verdict_mismatch", "status", "calibration_state", "retest_of", "standard", "reasons",
    "source", "resident_purchase",
)
IGNORED_ON_IMPORT = frozenset(EXPORT_COLUMNS) - frozenset(IMPORT_COLUMNS)

#: Chinese headers accepted for the main columns (Chinese lab spreadsheets)
HEADER_ALIASES = {
    "样品编号": "sample_code", "市场": "market", "摊位": "vendor_stall", "样品名称": "commodity",
    "商品": "commodity", "检测方法": "method", "检测项目": "analyte", "仪器编号": "instrument",
    "检测时间": "tested_at", "检测人": "tested_by", "通道": "channel", "检测值": "value",
    "单位": "unit", "仪器结论": "instrument_verdict",
}
VERDICT_ZH = {"negative": "阴性", "suspicious": "可疑", "positive": "阳性", "invalid": "无效",
              "compliant": "合格", "noncompliant": "不合格"}
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,19}$")
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")
TRUE_WORDS = {"true", "1", "yes", "y", "是"}
FALSE_WORDS = {"false", "0", "no", "n", "否", ""}


@dataclass
class ImportReport:
    file: str
    rows: int
    created: int
    duplicates: int
    held: int
    mismatches: int
    verdicts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# --------------------------------------------------------------------------- parsing

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unescape(str(value).strip())


def _number(value: Any, line: int, col: str, errors: list[RowError]) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        x = float(value) if isinstance(value, int | float) else float(str(value).strip())
    except ValueError:
        errors.append(RowError(line, col, f"not a number: {value!r}"))
        return None
    if not math.isfinite(x):
        errors.append(RowError(line, col, f"not a finite number: {value!r}"))
        return None
    return x


def _bool(value: Any, line: int, col: str, errors: list[RowError]) -> bool | None:
    if isinstance(value, bool):
        return value
    t = _text(value).lower()
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    errors.append(RowError(line, col, f"expected true/false (是/否), got {value!r}"))
    return None


def _timestamp(value: Any, line: int, errors: list[RowError], tz: ZoneInfo,
               latest: datetime) -> datetime | None:
    if isinstance(value, datetime):
        ts = aware(value, tz)
    else:
        text = _text(value)
        if not text:
            errors.append(RowError(line, "tested_at", "missing"))
            return None
        ts = None
        try:
            ts = aware(datetime.fromisoformat(text), tz)
        except ValueError:
            for fmt in TIME_FORMATS:
                try:
                    ts = datetime.strptime(text, fmt).replace(tzinfo=tz)
                    break
                except ValueError:
                    continue
        if ts is None:
            errors.append(RowError(line, "tested_at", f"not a date and time: {text!r} (use "
                                   "2026-05-06 09:30 or ISO 8601)"))
            return None
    if ts > latest:
        errors.append(RowError(line, "tested_at", f"{ts.isoformat()} is in the future"))
        return None
    return ts


def _columns(table: Table, name: str) -> dict[str, int]:
    cols: dict[str, int] = {}
    unknown = []
    for i, h in enumerate(table.header):
        key = HEADER_ALIASES.get(h.strip(), h.strip().lower().replace(" ", "_"))
        if not key:
            continue
        if key in cols:
            raise FileFormatError(f"{name} line 1: column {key!r} appears twice")
        if key in IMPORT_COLUMNS:
            cols[key] = i
        elif key not in IGNORED_ON_IMPORT:
            unknown.append(h)
    if unknown:
        raise FileFormatError(f"{name} line 1: unknown column(s) {', '.join(map(repr, unknown))}; "
                              f"known: {', '.join(IMPORT_COLUMNS)}")
    missing = [c for c in ("method", "tested_at") if c not in cols]
    if missing:
        raise FileFormatError(f"{name} line 1: missing column(s) {', '.join(missing)} (is the "
                              "first line the header?)")
    return cols


def parse_rows(table: Table, *, name: str, tz: ZoneInfo = DEFAULT_TZ,
               source: str = "import") -> list[ReadingIn]:
    """Turn a table into readings; every bad cell is reported (ValidationFailed) at once."""
    cols = _columns(table, name)
    latest = now() + timedelta(hours=1)
    errors: list[RowError] = []
    readings: list[ReadingIn] = []

    def cell(cells: list[Any], col: str) -> Any:
        i = cols.get(col)
        return cells[i] if i is not None and i < len(cells) else None

    for line, cells in iter_nonblank(table):
        n_err = len(errors)
        raw: dict[str, Any] = {}
        for col in RAW_COLUMNS:
            v = cell(cells, col)
            if col in NUMBER_COLUMNS:
                x = _number(v, line, col, errors)
                if x is not None:
                    raw[col] = x
            elif col == "blank_ok":
                if _text(v):
                    raw[col] = _bool(v, line, col, errors)
            elif _text(v):
                raw[col] = _text(v)
        code = _text(cell(cells, "sample_code")).upper() or None
        if code and not CODE_RE.match(code):
            errors.append(RowError(line, "sample_code", f"{code!r} is not a sample code "
                                   "(4–20 letters, digits or dashes)"))
        resident = _bool(cell(cells, "resident_purchase"), line, "resident_purchase", errors)
        method = _text(cell(cells, "method"))
        if not method:
            errors.append(RowError(line, "method", "missing"))
        ts = _timestamp(cell(cells, "tested_at"), line, errors, tz, latest)
        if len(errors) > n_err:
            continue
        assert ts is not None
        readings.append(ReadingIn(
            method=method, raw=raw, tested_at=ts, sample_code=code,
            market=_text(cell(cells, "market")) or None,
            vendor_stall=_text(cell(cells, "vendor_stall")) or None,
            resident_purchase=bool(resident), commodity=_text(cell(cells, "commodity")) or None,
            analyte=_text(cell(cells, "analyte")) or None,
            instrument_serial=_text(cell(cells, "instrument")) or None,
            channel=_text(cell(cells, "channel")) or None,
            instrument_verdict=_text(cell(cells, "instrument_verdict")) or None,
            tested_by=_text(cell(cells, "tested_by")), standard=_text(cell(cells, "standard")) or None,
            source=source, row=line))
    if errors:
        raise ValidationFailed(errors, name)
    if not readings:
        raise FileFormatError(f"{name}: no data rows below the header")
    return readings


# --------------------------------------------------------------------------- import

def _raw_key(raw: dict[str, Any]) -> str:
    norm = {k: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for k, v in raw.items()}
    return json.dumps(norm, sort_keys=True, ensure_ascii=False, default=str)


def _second(ts: datetime) -> datetime:
    return ts.replace(microsecond=0)


def _prepare_samples(session: Session, cache: RefCache, readings: list[ReadingIn],
                     ) -> tuple[list[ReadingIn], dict[str, list[ReadingIn]], int]:
    """Split rows by sample: rows for existing samples keep their code (identical results are
    dropped as duplicates), rows for new codes become code-less (ingest creates the sample; it is
    renamed afterwards). Returns (readings to ingest, new code → its rows, duplicates)."""
    codes = {r.sample_code for r in readings if r.sample_code}
    known = {s.code: s for s in session.exec(select(Sample).where(Sample.code.in_(codes)))} if codes else {}
    have: set[tuple[int, int, datetime, str]] = set()
    screens: dict[int, TestResult] = {}   # sample id → its first screen (no retest_of)
    if known:
        q = select(TestResult).where(TestResult.sample_id.in_([s.id for s in known.values()]))
        for tr in session.exec(q.order_by(TestResult.tested_at, TestResult.id)):
            have.add((tr.sample_id, tr.method_id, _second(tr.tested_at), _raw_key(tr.raw)))
            if tr.retest_of_id is None:
                screens.setdefault(tr.sample_id, tr)
    errors: list[RowError] = []
    out: list[ReadingIn] = []
    new: dict[str, list[ReadingIn]] = {}
    dups = 0
    for r in readings:
        s = known.get(r.sample_code or "")
        if s is not None:
            for col, given, check in (("market", r.market, _market_matches),
                                      ("commodity", r.commodity, _commodity_matches)):
                if given and not check(cache, s, given):
                    errors.append(RowError(r.row or 0, col, f"sample {s.code} is not from "
                                           f"{given!r}"))
            try:
                mid = cache.method(r.method).id
            except NotFound:
                mid = None
            if (s.id, mid, _second(r.tested_at), _raw_key(r.raw)) in have:
                dups += 1
                continue
            screen = screens.get(s.id)
            if screen is not None and screen.tested_at <= r.tested_at:
                r.retest_of_id = screen.id   # a re-test or lab result of the sample's screen
            out.append(r)
        elif r.sample_code:
            group = new.setdefault(r.sample_code, [])
            if group and (group[0].market, group[0].commodity, group[0].vendor_stall) != (
                    r.market, r.commodity, r.vendor_stall):
                errors.append(RowError(r.row or 0, "sample_code", f"new sample {r.sample_code} "
                                       f"has another market/vendor/commodity on line {group[0].row}"))
            group.append(r)
            r.ingest_key = r.default_key()   # includes the code: a second import is a duplicate
            r.sample_code = None
            out.append(r)
        else:
            out.append(r)
    if errors:
        raise ValidationFailed(errors, "import")
    return out, new, dups


def _market_matches(cache: RefCache, s: Sample, given: str) -> bool:
    try:
        return cache.market(given).id == s.market_id
    except NotFound:
        return False


def _commodity_matches(cache: RefCache, s: Sample, given: str) -> bool:
    try:
        return cache.commodity(given).id == s.commodity_id
    except NotFound:
        return False


def import_results(*, session: Session, actor: Actor, path: Path, tz: ZoneInfo = DEFAULT_TZ,
                   ) -> ImportReport:
    """Import a .csv/.xlsx file of readings; any bad row → ValidationFailed, nothing written."""
    require(actor, "results.import")
    table = read_table(path)
    readings = parse_rows(table, name=path.name, tz=tz)
    cache = RefCache.load(session)
    to_ingest, new_codes, dups = _prepare_samples(session, cache, readings)
    report = ingest(session=session, readings=to_ingest, cache=cache, tz=tz) if to_ingest else None
    stored = report.stored if report else []
    by_reading = {id(r): st for r, st in zip(to_ingest, stored, strict=True)}
    for code, rows in new_codes.items():
        first = by_reading[id(rows[0])]
        sample = session.exec(select(Sample).where(Sample.code == first.sample_code)).one()
        head = session.get(TestResult, first.result_id)
        for r in rows[1:]:
            st = by_reading[id(r)]
            if st.duplicate:
                continue
            tr = session.get(TestResult, st.result_id)
            extra = tr.sample_id
            tr.sample_id = sample.id
            if head is not None and head.tested_at <= tr.tested_at:
                tr.retest_of_id = head.id
            session.flush()
            if extra != sample.id:
                session.delete(session.get(Sample, extra))
        if not first.duplicate:
            sample.code = code
        session.flush()
    verdicts: dict[str, int] = {}
    for st in stored:
        if not st.duplicate:
            verdicts[st.verdict.outcome.value] = verdicts.get(st.verdict.outcome.value, 0) + 1
    created = sum(1 for st in stored if not st.duplicate)
    result = ImportReport(
        file=path.name, rows=len(readings), created=created,
        duplicates=dups + sum(1 for st in stored if st.duplicate),
        held=sum(1 for st in stored if not st.duplicate and st.status == "held"),
        mismatches=sum(1 for st in stored if not st.duplicate and st.mismatch),
        verdicts=verdicts, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    if created:
        audit.record(session=session, actor=actor, action="results.import", entity="test_result",
                     entity_id=path.name, new=result.to_dict())
        # an imported positive opens its case and alerts its grid group, like one typed in
        follow_up(session=session, actor=actor,
                  result_ids=[st.result_id for st in stored if not st.duplicate])
    return result


# --------------------------------------------------------------------------- export

def _export_query(session: Session, market: str | None, start: date | None, end: date | None):
    tr = TestResult.__table__.c
    sa_, mk, vd, co, me, an, ins, th = (Sample.__table__.c, Market.__table__.c, Vendor.__table__.c,
                                        Commodity.__table__.c, Method.__table__.c,
                                        Analyte.__table__.c, Instrument.__table__.c,
                                        Threshold.__table__.c)
    q = (sa.select(tr.id, tr.tested_at, tr.tested_by, tr.channel, tr.raw, tr.computed_value,
                   tr.computed_unit, tr.verdict, tr.instrument_verdict, tr.verdict_mismatch,
                   tr.status, tr.calibration_state, tr.retest_of_id, tr.verdict_reasons,
                   tr.source, sa_.code, sa_.resident_purchase, mk.code.label("market_code"),
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
         .order_by(tr.tested_at, tr.id))
    if market:
        q = q.where(tr.market_id == RefCache.load(session).market(market).id)
    if start:
        q = q.where(tr.local_date >= start)
    if end:
        q = q.where(tr.local_date <= end)
    return q


def export_rows(*, session: Session, market: str | None = None, start: date | None = None,
                end: date | None = None, tz: ZoneInfo = DEFAULT_TZ) -> Iterator[list[Any]]:
    """Rows in EXPORT_COLUMNS order, timestamps in local time."""
    if start and end and start > end:
        raise ValueError(f"--from {start} is after --to {end}")
    q = _export_query(session, market, start, end)
    for r in session.execute(q.execution_options(yield_per=1000)):
        raw = r.raw or {}
        yield [
            r.id, r.code, r.market_code, r.market_name, r.county, r.kind, r.stall, r.vendor_name,
            r.commodity_zh, r.commodity_en, r.method_code, r.method_zh, r.method_en,
            r.analyte_zh, r.analyte_en, r.serial_no, r.channel,
            aware(r.tested_at).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), r.tested_by,
            *(raw.get(k) for k in RAW_COLUMNS),
            r.instrument_verdict, r.computed_value, r.computed_unit, r.verdict,
            VERDICT_ZH.get(r.verdict, r.verdict), bool(r.verdict_mismatch), r.status,
            r.calibration_state, r.retest_of_id,
            f"{r.standard}-{r.edition}" if r.standard else None,
            "; ".join(r.verdict_reasons or []), r.source, bool(r.resident_purchase),
        ]


def export_results(*, session: Session, actor: Actor, out: BinaryIO, fmt: str = "csv",
                   market: str | None = None, start: date | None = None, end: date | None = None,
                   tz: ZoneInfo = DEFAULT_TZ, encoding: str = "utf-8-sig") -> int:
    """Write the results as CSV or XLSX to ``out``; returns the number of rows."""
    require(actor, "results.read")
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"--format must be csv or xlsx, got {fmt!r}")
    rows = export_rows(session=session, market=market, start=start, end=end, tz=tz)
    if fmt == "csv":
        return write_csv(out, list(EXPORT_COLUMNS), rows, encoding=encoding)
    return write_xlsx(out, list(EXPORT_COLUMNS), rows)


# --------------------------------------------------------------------------- show

def sample_results(*, session: Session, actor: Actor, code: str,
                   tz: ZoneInfo = DEFAULT_TZ) -> dict[str, Any]:
    """One sample with every result (oldest first), verdicts with their reasons."""
    require(actor, "results.read")
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
    return {
        "code": s.code, "uuid": s.uuid,
        "market": market.code if market else None, "market_name": market.name if market else None,
        "vendor_stall": vendor.stall if vendor else None,
        "vendor_name": vendor.name if vendor else None,
        "commodity": commodity.name_zh if commodity else None,
        "commodity_en": commodity.name_en if commodity else None,
        "resident_purchase": s.resident_purchase,
        "taken_at": s.taken_at.astimezone(tz).isoformat(), "taken_by": s.taken_by,
        "results": results,
    }
