"""Download buttons for every table: CSV (UTF-8 with BOM, opens in Excel) and XLSX.

Cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are escaped
with a leading apostrophe, in both formats.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime

import streamlit as st
from openpyxl import Workbook

from dashboards.i18n import t

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape(value):
    """A cell value safe for a spreadsheet (numbers stay numbers)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if escape(v) is None else escape(v)) for k, v in r.items()})
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict], sheet: str = "data") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    if rows:
        ws.append([escape(str(k)) for k in rows[0]])
        for r in rows:
            ws.append([escape(v) for v in r.values()])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def buttons(rows: list[dict], name: str, key: str) -> None:
    """CSV and XLSX download buttons for ``rows`` (already labelled in the UI language)."""
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(t("export.csv"), to_csv(rows), file_name=f"{name}.csv",
                       mime="text/csv", key=f"{key}_csv", disabled=not rows)
    c2.download_button(t("export.xlsx"), to_xlsx(rows, name), file_name=f"{name}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"{key}_xlsx", disabled=not rows)
