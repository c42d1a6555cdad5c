"""Spreadsheet files in and out: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX (openpyxl).

Reading returns the header and the data rows with their line numbers (1 = header), so callers
can name the line of a bad value. Writing escapes spreadsheet formula injection: a text cell
starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading apostrophe, in CSV
and in XLSX alike; ``unescape`` undoes it on import.
"""

from __future__ import annotations

import csv
import io
import re
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


#: the encodings ``--encoding`` accepts (GBK and GB2312 are read as their superset GB18030)
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig",
             "gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030"}


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


#: non-ASCII characters a UTF-8 lab file plausibly holds besides Chinese: Latin-1 letters and
#: signs, basic Greek letters (Δ, μ, σ), general punctuation, letterlike symbols (℃), arrows,
#: maths, technical signs, enclosed numbers (①), ⚠, CJK punctuation, full-width forms
_PLAUSIBLE = ((0x00A0, 0x00FF), (0x0391, 0x03A9), (0x03B1, 0x03C9), (0x2000, 0x23FF),
              (0x2460, 0x27BF), (0x3000, 0x303F), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
              (0xFF00, 0xFFEF))


def _plausible(ch: str) -> bool:
    o = ord(ch)
    return o < 0x80 or _is_cjk(ch) or any(lo <= o <= hi for lo, hi in _PLAUSIBLE)


def _sign(ch: str) -> bool:
    """A plausible character that is no letter (°, μ, ±, §, ℃, full-width comma …)."""
    o = ord(ch)
    latin_letter = 0xC0 <= o <= 0xFF and ch not in "×÷"
    return _plausible(ch) and not _is_cjk(ch) and not latin_letter


def _ambiguous(utf8: str, gb: str) -> bool:
    """True when bytes valid as both UTF-8 and GB18030 may well be GBK: the UTF-8 reading holds
    characters a lab file does not (Hebrew, Cyrillic, combining marks, controls … — what GBK
    Chinese looks like read as UTF-8), or only the GB reading has Chinese and the UTF-8 reading
    has letters (Müller: give --encoding utf-8), not only signs such as °, μ, § or ℃."""
    if utf8 == gb:
        return False
    if not all(_plausible(c) for c in utf8):
        return True
    if any(_is_cjk(c) for c in gb) and not any(_is_cjk(c) for c in utf8):
        return any(ord(c) >= 0x80 and not _sign(c) for c in utf8)
    return False


def _first_difference(utf8: str, gb: str) -> tuple[int, str, str]:
    for n, (a, b) in enumerate(zip(utf8.splitlines(), gb.splitlines(), strict=False), start=1):
        if a != b:
            return n, a, b
    return 1, utf8[:60], gb[:60]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def decode_csv(data: bytes, name: str = "file", encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not), else GB18030 (a superset of GBK/GB2312).

    Without ``encoding``, bytes that are valid UTF-8 *and* valid GB18030 and read as
    different text that may well be GBK (see ``_ambiguous``) are refused naming the first line
    where the two readings differ: give ``encoding`` (``--encoding``) to say which it is.
    """
    if b"\x00" in data[:4096]:
        raise FileFormatError(f"{name}: binary content, not a CSV text file (an .xlsx saved "
                              "with a .csv name? give it its .xlsx extension)")
    if encoding is not None:
        return _decode_as(data, name, encoding)
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"{name}: starts with a UTF-8 BOM but is not valid UTF-8 "
                                  f"(byte {exc.start + 3})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        try:
            gb = data.decode("gb18030")
        except UnicodeDecodeError:
            return text, "utf-8"
        if not _ambiguous(text, gb):
            return text, "utf-8"
        line, u, g = _first_difference(text, gb)
        raise FileFormatError(
            f"{name}: cannot tell the encoding — the bytes are valid UTF-8 and valid GBK/GB18030 "
            f"but read differently; line {line} reads {_short(u)!r} as UTF-8 and {_short(g)!r} "
            "as GBK. Give the encoding: --encoding gbk or --encoding utf-8 (or save the file "
            "as CSV UTF-8)")
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{name}: neither UTF-8 nor GBK/GB18030 text (undecodable byte at "
                              f"offset {exc.start}); save it as CSV UTF-8") from None


def _decode_as(data: bytes, name: str, encoding: str) -> tuple[str, str]:
    codec = ENCODINGS.get(encoding.strip().lower())
    if codec is None:
        raise FileFormatError(f"{name}: unknown encoding {encoding!r}; use one of "
                              + ", ".join(sorted(ENCODINGS)))
    if codec == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
        codec = "utf-8-sig"
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FileFormatError(f"{name} line {line}: not valid {encoding} text (byte "
                              f"{data[exc.start]:#04x} at offset {exc.start})") from None


def _clean_header(cells: Iterable[Any]) -> list[str]:
    return ["" if c is None else str(c).strip().lstrip("\ufeff") for c in cells]


def read_csv_bytes(data: bytes, name: str = "file", encoding: str | None = None) -> Table:
    text, encoding = decode_csv(data, name, encoding)
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


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(data: bytes | BinaryIO) -> bool:
    """True when any worksheet of the workbook holds a formula (streamed, in 1 MB chunks)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as z:
            for n in z.namelist():
                if not (n.startswith("xl/worksheets/") and n.endswith(".xml")):
                    continue
                with z.open(n) as f:
                    tail = b""
                    while chunk := f.read(1 << 20):
                        if _FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-8:]
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    return False


def _open_workbook(data: bytes | str, name: str, *, formulas: bool = False):
    """``data``: the workbook's bytes, or its path (read from the file as needed)."""
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data,
                             read_only=True, data_only=not formulas)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileFormatError(f"{name}: not a readable .xlsx workbook ({exc})") from None


def _value_rows(ws, twin, name: str) -> Iterator[tuple]:
    """The sheet's rows of cached values. With ``twin`` (the same sheet loaded with its
    formulas), a formula cell without a cached value — the file was written by a program that
    does not calculate — is refused naming the sheet and cell instead of reading it as empty."""
    values = ws.iter_rows(values_only=True)
    if twin is None:
        yield from values
        return
    for row, cells in zip(values, twin.iter_rows(), strict=False):
        for value, cell in zip(row, cells, strict=False):
            if value is None and getattr(cell, "data_type", None) == "f":
                raise FileFormatError(
                    f"{name}: formula without a value in cell {cell.coordinate} (sheet "
                    f"{ws.title!r}): the program that saved the file did not calculate it; open "
                    "it in Excel or WPS, let it calculate and save it again, or paste the values")
        yield row


def _sheet_tables(data: bytes, name: str, only_first: bool) -> dict[str, Table]:
    wb = _open_workbook(data, name)
    fwb = _open_workbook(data, name, formulas=True) if _has_formulas(data) else None
    out: dict[str, Table] = {}
    try:
        if only_first:
            ws = wb["results"] if "results" in wb.sheetnames else wb.worksheets[0]
            sheets = [ws]
        else:
            sheets = list(wb.worksheets)
        for ws in sheets:
            it = _value_rows(ws, fwb[ws.title] if fwb is not None else None, name)
            header = next(it, None)
            if header is None and only_first:
                raise FileFormatError(f"{name}: the first sheet is empty (expected a header row)")
            out[ws.title] = Table(_clean_header(header or ()),
                                  [(i, list(r)) for i, r in enumerate(it, start=2)])
    finally:
        wb.close()
        if fwb is not None:
            fwb.close()
    return out


def read_xlsx_bytes(data: bytes, name: str = "file") -> Table:
    """The ``results`` sheet (else the first) of a workbook."""
    (table,) = _sheet_tables(data, name, only_first=True).values()
    return table


def read_xlsx_sheets(data: bytes, name: str = "file") -> dict[str, Table]:
    """Every sheet of a workbook by its name (an empty sheet: a table without header)."""
    return _sheet_tables(data, name, only_first=False)


def read_table(path: Path, encoding: str | None = None) -> Table:
    """Read a .csv or .xlsx file; anything else is refused with a clear message. ``encoding``
    (CSV only) overrides the detection (``decode_csv``)."""
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
        return read_csv_bytes(data, path.name, encoding)
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

