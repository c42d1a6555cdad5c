"""Results into the store from files: ``import_results`` reads a ``.csv`` (UTF-8, UTF-8 with
BOM, GBK/GB18030) or ``.xlsx`` of readings and hands them to the intake pipeline, all or nothing.

Columns (header names, case-insensitive; Chinese headers of common lab sheets accepted) are the
fields of ``lims.wire.readings.ReadingCreate``: a row is one reading. Rows naming a
``sample_code`` the database knows add a result to that sample (a re-test, a lab result); an
unknown code creates the sample under that code; no code creates a new sample (the pipeline's
binding stage, ``lims.intake.binding``). Importing the same file, or an export, twice adds
nothing. Columns of the export that the import does not need (verdict, names …) are ignored;
any other unknown column is refused, so a typo is not silently dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlmodel import Session

from lims.errors import RowError, ValidationFailed
from lims.files.results_export import IGNORED_ON_IMPORT
from lims.files.tabular import FileFormatError, Table, iter_nonblank, unescape
from lims.intake.corrections import parse_number
from lims.intake.readings import ReadingIn
from lims.security.auth import Actor
from lims.timeutil import aware, local_tz, now
from lims.wire.readings import RAW_FIELDS, ReadingCreate, column_help

#: ``progress(stage, rows)``: stage "read", "validated" or "stored", rows done so far
Progress = Callable[[str, int], None]
#: column → what it holds (the README lists the same; a test keeps them in step)
IMPORT_COLUMNS: dict[str, str] = column_help()
#: the earliest test time an import accepts (older dates are typing errors such as 0001-01-01)
EARLIEST = datetime(1900, 1, 1)
NUMBER_COLUMNS = ("control_delta", "sample_delta", "t", "c", "value")

#: Chinese headers accepted for the main columns (Chinese lab spreadsheets)
HEADER_ALIASES = {
    "样品编号": "sample_code", "市场": "market", "摊位": "vendor_stall", "样品名称": "commodity",
    "商品": "commodity", "检测方法": "method", "检测项目": "analyte", "仪器编号": "instrument",
    "检测时间": "tested_at", "检测人": "tested_by", "通道": "channel", "检测值": "value",
    "单位": "unit", "仪器结论": "instrument_verdict", "试剂批号": "kit_lot", "批号": "kit_lot",
}
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
    cases: int = 0
    alerts: int = 0
    unbound: int = 0          # rows that found no sample: in the unbound queue
    sha256: str = ""
    notes: list[str] = field(default_factory=list)   # e.g. an earlier import that stopped

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
    if isinstance(value, bool):
        errors.append(RowError(line, col, f"not a number: {value!r}"))
        return None
    try:   # text strictly: no nan/inf, no digit separators (0_05 is not 5)
        x = float(value) if isinstance(value, int | float) else parse_number(str(value))
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
    if ts.replace(tzinfo=None) < EARLIEST:   # (year 1 in a zone east of UTC would overflow)
        errors.append(RowError(line, "tested_at", f"{ts.isoformat()} is too early (before "
                               f"{EARLIEST.year})"))
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


def iter_readings(table: Table, *, name: str, errors: list[RowError], tz: ZoneInfo | None = None,
                  source: str = "import") -> Iterator[ReadingIn]:
    """The table's good rows as readings, one at a time; every bad cell is appended to
    ``errors`` (its row yields nothing)."""
    tz = tz or local_tz()
    cols = _columns(table, name)
    latest = now() + timedelta(hours=1)

    def cell(cells: list[Any], col: str) -> Any:
        i = cols.get(col)
        return cells[i] if i is not None and i < len(cells) else None

    for line, cells in iter_nonblank(table):
        n_err = len(errors)
        raw: dict[str, Any] = {}
        for col in RAW_FIELDS:
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
        values = {c: _text(cell(cells, c)) or None for c in (
            "market", "vendor_stall", "commodity", "analyte", "instrument", "channel",
            "instrument_verdict", "standard", "kit_lot", "ingest_key")}
        try:
            wire = ReadingCreate(method=method, tested_at=ts, sample_code=code,
                                 resident_purchase=bool(resident),
                                 tested_by=_text(cell(cells, "tested_by")), **values, **raw)
        except ValidationError as exc:
            for e in exc.errors():
                errors.append(RowError(line, ".".join(map(str, e["loc"])) or "row", e["msg"]))
            continue
        yield wire.to_reading_in(source=source, row=line)


def parse_rows(table: Table, *, name: str, tz: ZoneInfo | None = None,
               source: str = "import", collect: list[RowError] | None = None) -> list[ReadingIn]:
    """Turn a table into readings; every bad cell is reported (ValidationFailed) at once — or,
    with ``collect``, appended there and the good rows returned."""
    errors: list[RowError] = []
    readings = list(iter_readings(table, name=name, errors=errors, tz=tz, source=source))
    if errors and collect is None:
        raise ValidationFailed(errors, name)
    if collect is not None:
        collect.extend(errors)
    if not readings and not errors:
        raise FileFormatError(f"{name}: no data rows below the header")
    return readings


# --------------------------------------------------------------------------- import
# (the streaming import itself is ``lims.files.import_stream``; this keeps the API)

def import_results(*, session: Session, actor: Actor, path: Path, tz: ZoneInfo | None = None,
                   encoding: str | None = None, chunk_rows: int | None = None,
                   progress: Progress | None = None) -> ImportReport:
    """Import a .csv/.xlsx file of readings; any bad row → ValidationFailed, nothing written.
    ``encoding`` (CSV only) overrides the detection (``lims.files.tabular.decode_csv``).
    A file of more than ``chunk_rows`` readings is stored in several short transactions
    (``lims.files.import_stream``); ``progress(stage, rows)`` hears how far it got."""
    from lims.files import import_stream

    return import_stream.run(session=session, actor=actor, path=path, tz=tz, encoding=encoding,
                             chunk_rows=chunk_rows, progress=progress)
