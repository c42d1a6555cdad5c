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


def test_a_table_built_on_another_thread_keeps_the_persons_language():
    """A download's rows are built when its button is pressed, on a thread of Streamlit's that
    sees no session state: ``in_lang`` gives them the language of the page that offered them."""
    import threading

    from dashboards.i18n import in_lang, lang, strings, t

    out: dict[str, str] = {}

    def build(code: str) -> None:
        with in_lang(code):
            out[code] = t("coverage.when")
            out[code + "_lang"] = lang()

    for code in ("en", "zh"):
        th = threading.Thread(target=build, args=(code,))
        th.start()
        th.join()
    assert out["en"] == strings()["coverage.when"]["en"] != out["zh"]
    assert (out["en_lang"], out["zh_lang"]) == ("en", "zh")
