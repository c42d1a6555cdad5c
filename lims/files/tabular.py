"""Spreadsheet files in and out: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX (openpyxl).

Reading returns the header and the data rows with their line numbers (1 = header), so callers
can name the line of a bad value. Writing escapes spreadsheet formula injection: a text cell
starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading apostrophe, in CSV
and in XLSX alike; ``unescape`` undoes it on import.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from lims.errors import LimsError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SUPPORTED = (".csv", ".xlsx")


class FileFormatError(LimsError):
    """The file cannot be read as a table: wrong type, encoding or header."""


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[Any]]]   # (line number, cells)
    encoding: str | None = None         # CSV only


def escape(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def unescape(text: str) -> str:
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def decode_csv(data: bytes, name: str = "file") -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not), else GB18030 (a superset of GBK/GB2312)."""
    if b"\x00" in data[:4096]:
        raise FileFormatError(f"{name}: binary content, not a CSV text file (an .xlsx saved "
                              "with a .csv name? give it its .xlsx extension)")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"{name}: starts with a UTF-8 BOM but is not valid UTF-8 "
                                  f"(byte {exc.start + 3})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{name}: neither UTF-8 nor GBK/GB18030 text (undecodable byte at "
                              f"offset {exc.start}); save it as CSV UTF-8") from None


def _clean_header(cells: Iterable[Any]) -> list[str]:
    return ["" if c is None else str(c).strip().lstrip("\ufeff") for c in cells]


def read_csv_bytes(data: bytes, name: str = "file") -> Table:
    text, encoding = decode_csv(data, name)
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise FileFormatError(f"{name}: the file is empty (expected a header line)")
        rows = [(reader.line_num, list(r)) for r in reader]
    except csv.Error as exc:
        raise FileFormatError(f"{name} line {reader.line_num}: not valid CSV ({exc})") from None
    return Table(_clean_header(header), rows, encoding)


def read_xlsx_bytes(data: bytes, name: str = "file") -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileFormatError(f"{name}: not a readable .xlsx workbook ({exc})") from None
    try:
        ws = wb["results"] if "results" in wb.sheetnames else wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise FileFormatError(f"{name}: the first sheet is empty (expected a header row)")
        rows = [(i, list(r)) for i, r in enumerate(it, start=2)]
    finally:
        wb.close()
    return Table(_clean_header(header), rows)


def read_xlsx_sheets(data: bytes, name: str = "file") -> dict[str, Table]:
    """Every sheet of a workbook by its name (an empty sheet: a table without header)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileFormatError(f"{name}: not a readable .xlsx workbook ({exc})") from None
    out: dict[str, Table] = {}
    try:
        for ws in wb.worksheets:
            it = ws.iter_rows(values_only=True)
            header = next(it, None)
            out[ws.title] = Table(_clean_header(header or ()),
                                  [(i, list(r)) for i, r in enumerate(it, start=2)])
    finally:
        wb.close()
    return out


def read_table(path: Path) -> Table:
    """Read a .csv or .xlsx file; anything else is refused with a clear message."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        hint = " (old Excel format: save it as .xlsx or CSV)" if suffix == ".xls" else ""
        raise FileFormatError(f"{path.name}: unsupported file type {suffix or '(none)'!r}{hint}; "
                              f"expected {' or '.join(SUPPORTED)}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read ({exc.strerror})") from None
    if suffix == ".csv":
        return read_csv_bytes(data, path.name)
    return read_xlsx_bytes(data, path.name)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return escape(value)


def write_csv(out: BinaryIO, header: list[str], rows: Iterable[list[Any]],
              encoding: str = "utf-8-sig") -> int:
    """Write rows as CSV (UTF-8 with BOM by default, so Excel shows Chinese right)."""
    text = io.TextIOWrapper(out, encoding=encoding, newline="", write_through=True)
    try:
        w = csv.writer(text)
        w.writerow([escape(h) for h in header])
        n = 0
        for row in rows:
            w.writerow([_csv_cell(v) for v in row])
            n += 1
        text.flush()
    finally:
        text.detach()
    return n


def write_xlsx(out: BinaryIO, header: list[str], rows: Iterable[list[Any]],
               sheet: str = "results") -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(header)
    n = 0
    for row in rows:
        ws.append([escape(v) for v in row])
        n += 1
    wb.save(out)
    return n


def iter_nonblank(table: Table) -> Iterator[tuple[int, list[Any]]]:
    for line, cells in table.rows:
        if any(c not in (None, "") and str(c).strip() for c in cells):
            yield line, cells
