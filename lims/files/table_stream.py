"""Spreadsheet files read in a stream: ``stream_table`` is ``lims.files.tabular.read_table``
with the rows read lazily, so memory does not grow with the file (a 50 MB CSV of half a million
rows is imported in well under 500 MB; docs/performance.md).

A CSV's encoding is decided exactly as ``tabular.decode_csv`` decides it, reading the file in
blocks cut at line ends (``\n`` never occurs inside a UTF-8 or GB18030 character); the rows
are then decoded block by block. An XLSX is read with openpyxl's read-only mode from its path.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lims.files.tabular import (
    ENCODINGS,
    SUPPORTED,
    FileFormatError,
    Table,
    _clean_header,
    _first_difference,
    _has_formulas,
    _is_cjk,
    _open_workbook,
    _plausible,
    _short,
    _sign,
    _value_rows,
)

#: bytes read at a time when a CSV is detected or decoded in blocks (cut at a line end)
BLOCK = 4 << 20


def _blocks(f: BinaryIO) -> Iterator[bytes]:
    """The file in blocks of about ``BLOCK`` bytes, each ending at a line end (``\\n`` is one
    byte that never occurs inside a UTF-8 or GB18030 character)."""
    tail = b""
    while chunk := f.read(BLOCK):
        data = tail + chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            tail = data
            continue
        yield data[:cut]
        tail = data[cut:]
    if tail:
        yield tail


def detect_csv_encoding(path: Path, encoding: str | None = None) -> str:
    """The codec of a CSV file, decided as ``decode_csv`` decides it, reading the file in
    blocks: the ambiguity test is an ``any``/``all`` over characters, so it adds up per block."""
    name = path.name
    with path.open("rb") as f:
        head = f.read(4096)
        if b"\x00" in head:
            raise FileFormatError(f"{name}: binary content, not a CSV text file (an .xlsx saved "
                                  "with a .csv name? give it its .xlsx extension)")
        if encoding is not None:
            codec = ENCODINGS.get(encoding.strip().lower())
            if codec is None:
                raise FileFormatError(f"{name}: unknown encoding {encoding!r}; use one of "
                                      + ", ".join(sorted(ENCODINGS)))
            return "utf-8-sig" if codec == "utf-8" and head.startswith(b"\xef\xbb\xbf") else codec
        if head.startswith(b"\xef\xbb\xbf"):
            return "utf-8-sig"
        f.seek(0)
        utf8_ok = gb_ok = True
        differ = implausible = gb_cjk = utf8_cjk = utf8_letters = False
        first: tuple[int, str, str] | None = None
        line = 0
        for block in _blocks(f):
            if utf8_ok:
                try:
                    u = block.decode("utf-8")
                except UnicodeDecodeError:
                    utf8_ok = False
            if not utf8_ok:
                break
            if gb_ok:
                try:
                    g = block.decode("gb18030")
                except UnicodeDecodeError:
                    gb_ok = False
            if gb_ok and u != g:
                differ = True
                implausible = implausible or not all(_plausible(c) for c in u)
                gb_cjk = gb_cjk or any(_is_cjk(c) for c in g)
                utf8_cjk = utf8_cjk or any(_is_cjk(c) for c in u)
                utf8_letters = utf8_letters or any(ord(c) >= 0x80 and not _sign(c) for c in u)
                if first is None:
                    n, a, b = _first_difference(u, g)
                    first = (line + n, a, b)
            line += block.count(b"\n")
    if not utf8_ok:
        return "gb18030"
    if not gb_ok or not differ:
        return "utf-8"
    ambiguous = implausible or (gb_cjk and not utf8_cjk and utf8_letters)
    if not ambiguous:
        return "utf-8"
    n, u, g = first or (1, "", "")
    raise FileFormatError(
        f"{name}: cannot tell the encoding — the bytes are valid UTF-8 and valid GBK/GB18030 "
        f"but read differently; line {n} reads {_short(u)!r} as UTF-8 and {_short(g)!r} "
        "as GBK. Give the encoding: --encoding gbk or --encoding utf-8 (or save the file "
        "as CSV UTF-8)")


def _csv_lines(path: Path, codec: str) -> Iterator[str]:
    """The file's text line by line, decoded strictly; an undecodable byte names its line."""
    name = path.name
    line = 0
    with path.open("rb") as f:
        for block in _blocks(f):
            if line == 0 and codec == "utf-8-sig" and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
            try:
                text = block.decode("utf-8" if codec == "utf-8-sig" else codec)
            except UnicodeDecodeError as exc:
                at = line + block[:exc.start].count(b"\n") + 1
                raise FileFormatError(f"{name} line {at}: not valid {codec} text (byte "
                                      f"{block[exc.start]:#04x})") from None
            line += block.count(b"\n")
            parts = text.split("\n")
            for part in parts[:-1]:
                yield part + "\n"
            if parts[-1]:
                yield parts[-1]


def stream_csv(path: Path, encoding: str | None = None) -> Table:
    """A CSV file as a ``Table`` whose ``rows`` are read lazily (bounded memory)."""
    codec = detect_csv_encoding(path, encoding)
    lines = _csv_lines(path, codec)
    first = next(lines, None)
    if first is None:
        raise FileFormatError(f"{path.name}: the file is empty (expected a header line)")
    delimiter = max((",", ";", "\t"), key=first.count)

    def all_lines() -> Iterator[str]:
        yield first
        yield from lines

    reader = csv.reader(all_lines(), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise FileFormatError(f"{path.name} line 1: not valid CSV ({exc})") from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for r in reader:
                yield reader.line_num, r
        except csv.Error as exc:
            raise FileFormatError(f"{path.name} line {reader.line_num}: not valid CSV "
                                  f"({exc})") from None
    return Table(_clean_header(header), rows(), codec)   # type: ignore[arg-type]


def stream_xlsx(path: Path) -> Table:
    """The ``results`` sheet (else the first) of a workbook, its rows read lazily (openpyxl's
    read-only mode streams the sheet's XML)."""
    name = path.name
    data_path: Any = str(path)
    wb = _open_workbook(data_path, name)
    with path.open("rb") as f:
        formulas = _has_formulas(f)
    fwb = _open_workbook(data_path, name, formulas=True) if formulas else None
    ws = wb["results"] if "results" in wb.sheetnames else wb.worksheets[0]
    it = _value_rows(ws, fwb[ws.title] if fwb is not None else None, name)
    header = next(it, None)
    if header is None:
        wb.close()
        raise FileFormatError(f"{name}: the first sheet is empty (expected a header row)")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for i, r in enumerate(it, start=2):
                yield i, list(r)
        finally:
            wb.close()
            if fwb is not None:
                fwb.close()
    return Table(_clean_header(header), rows())   # type: ignore[arg-type]


def stream_table(path: Path, encoding: str | None = None) -> Table:
    """Like ``read_table``, with the rows read lazily: memory does not grow with the file.
    Iterate ``rows`` once; open the file again for a second pass."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        hint = " (old Excel format: save it as .xlsx or CSV)" if suffix == ".xls" else ""
        raise FileFormatError(f"{path.name}: unsupported file type {suffix or '(none)'!r}{hint}; "
                              f"expected {' or '.join(SUPPORTED)}")
    if not path.is_file():
        raise FileFormatError(f"{path}: cannot read (no such file)")
    try:
        return stream_csv(path, encoding) if suffix == ".csv" else stream_xlsx(path)
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read ({exc.strerror})") from None
