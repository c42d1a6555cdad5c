"""Download buttons for every table: CSV (UTF-8 with BOM, opens in Excel) and XLSX.

The files are written by ``lims.files.tabular`` (the same writer as `lims results export`),
which escapes cells a spreadsheet would run as a formula (= + - @, tab, CR) in both formats.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from datetime import datetime

import streamlit as st

from dashboards.i18n import in_lang, lang, t
from lims.files import tabular


def _cell(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):   # XLSX cannot hold time-zone aware timestamps
        return value.isoformat(timespec="seconds")
    return value


def _split(rows: list[dict]) -> tuple[list[str], list[list]]:
    header = [str(k) for k in rows[0]] if rows else []
    return header, [[_cell(v) for v in r.values()] for r in rows]


def to_csv(rows: list[dict]) -> bytes:
    out = io.BytesIO()
    if rows:
        tabular.write_csv(out, *_split(rows))
    else:
        out.write("\ufeff".encode())
    return out.getvalue()


def to_xlsx(rows: list[dict], sheet: str = "data") -> bytes:
    out = io.BytesIO()
    header, body = _split(rows)
    if rows:
        tabular.write_xlsx(out, header, body, sheet=sheet[:31])
    else:
        from openpyxl import Workbook

        Workbook().save(out)
    return out.getvalue()


def buttons(rows: list[dict] | Callable[[], list[dict]], name: str, key: str) -> None:
    """CSV and XLSX download buttons for ``rows`` (already labelled in the UI language), or for
    a function that makes them (a table larger than the one shown: its rows are labelled only
    when a button is pressed).

    The files are written when a button is pressed, not on every rerun (an XLSX of a
    2 000-market table costs a good part of a second: issue 17)."""
    fn = rows if callable(rows) else (lambda: rows)
    code = lang()   # Streamlit builds the file on its own thread, which sees no session

    def make() -> list[dict]:
        with in_lang(code):
            return fn()
    empty = not callable(rows) and not rows
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(t("export.csv"), lambda: to_csv(make()), file_name=f"{name}.csv",
                       mime="text/csv", key=f"{key}_csv", disabled=empty)
    c2.download_button(t("export.xlsx"), lambda: to_xlsx(make(), name), file_name=f"{name}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"{key}_xlsx", disabled=empty)
