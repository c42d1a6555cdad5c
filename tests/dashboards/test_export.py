"""Table downloads: formula injection escaped in CSV and XLSX, values kept."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook

from dashboards import export

ROWS = [{"市场": "=HYPERLINK(\"http://evil\")", "n": 12, "rate": 95.5, "day": date(2026, 1, 2)},
        {"市场": "+cmd", "n": 3, "rate": float("nan"), "day": date(2026, 1, 3)},
        {"市场": "东门", "n": 0, "rate": 1.0, "day": date(2026, 1, 4)}]


def test_csv_escapes_formulas_and_opens_in_excel():
    data = export.to_csv(ROWS)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["市场"] == "'=HYPERLINK(\"http://evil\")"
    assert rows[1]["市场"] == "'+cmd" and rows[1]["rate"] == ""
    assert rows[2]["市场"] == "东门" and rows[2]["n"] == "0"


def test_xlsx_escapes_formulas_and_keeps_numbers():
    wb = load_workbook(io.BytesIO(export.to_xlsx(ROWS, "pass rates")))
    ws = wb.active
    values = list(ws.values)
    assert values[0] == ("市场", "n", "rate", "day")
    assert values[1][0] == "'=HYPERLINK(\"http://evil\")" and values[1][1] == 12
    assert ws.cell(2, 1).data_type == "s"   # text, not a formula
    assert values[2][2] is None and values[3][2] == 1.0


def test_empty_table_gives_empty_files():
    assert export.to_csv([]) == "\ufeff".encode()
    assert list(load_workbook(io.BytesIO(export.to_xlsx([]))).active.values) == []
