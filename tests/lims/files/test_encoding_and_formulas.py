"""Issue 18 (low): a CSV whose bytes read as both UTF-8 and GBK with different text is refused
(unless ``--encoding`` says which), and an XLSX formula without a cached value is named."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from lims.files.tabular import (
    FileFormatError,
    decode_csv,
    read_csv_bytes,
    read_xlsx_bytes,
    read_xlsx_sheets,
)
from tests.lims.cli.conftest import lims, places  # noqa: F401  (fixtures)
from tests.lims.cli.test_results_cmd import results, row, write_csv

#: GBK bytes that are also valid UTF-8: "A1,史伟" reads as "A1,ʷΰ" in UTF-8
GBK_ALSO_UTF8 = "sample_code,tested_by\nA1,史伟\n".encode("gbk")


def test_gbk_bytes_that_are_valid_utf8_are_refused_naming_file_and_line():
    assert GBK_ALSO_UTF8.decode("utf-8") == "sample_code,tested_by\nA1,ʷΰ\n"
    with pytest.raises(FileFormatError) as exc:
        decode_csv(GBK_ALSO_UTF8, "day.csv")
    msg = str(exc.value)
    assert msg.startswith("day.csv: cannot tell the encoding")
    assert "line 2" in msg and "史伟" in msg and "ʷΰ" in msg and "--encoding" in msg


@pytest.mark.parametrize("text", [
    "学校,十\n", "code,market\nX,学校\n", "a,b\n1,一\n",
])
def test_more_gbk_texts_valid_as_utf8_are_refused(text):
    data = text.encode("gbk")
    data.decode("utf-8")   # really valid UTF-8
    with pytest.raises(FileFormatError, match="--encoding"):
        decode_csv(data, "x.csv")


def test_the_encoding_option_decides():
    assert decode_csv(GBK_ALSO_UTF8, "day.csv", "gbk") == (GBK_ALSO_UTF8.decode("gbk"),
                                                            "gb18030")
    assert decode_csv(GBK_ALSO_UTF8, "day.csv", "utf-8")[0].endswith("A1,ʷΰ\n")
    table = read_csv_bytes(GBK_ALSO_UTF8, "day.csv", encoding="GBK")
    assert table.rows == [(2, ["A1", "史伟"])]
    with pytest.raises(FileFormatError, match="unknown encoding 'latin-9'"):
        decode_csv(b"a\n", "x.csv", "latin-9")
    with pytest.raises(FileFormatError, match=r"x.csv line 3: not valid utf-8"):
        decode_csv("a\nb\n韭菜\n".encode("gbk"), "x.csv", "utf-8")


@pytest.mark.parametrize("text", [
    "a,b\n1,2\n",                                       # ASCII
    "市场,商品,检测人\n东门,芹菜,张伟\n",                  # Chinese
    "sample_code,tested_by\nA1,史伟\n",                  # the same text, but as UTF-8
    "unit,temp\nμg/kg,25 °C\n",                          # signs only
    "note\n“阴性”,ΔA ≤ 0.05;§7.11\n",                   # punctuation, Greek, maths
    "\ufeffa,b\n山药,刘敏\n",                             # BOM
])
def test_utf8_files_keep_working(text):
    got, encoding = decode_csv(text.encode("utf-8"), "ok.csv")
    assert got == text.lstrip("\ufeff") and encoding in ("utf-8", "utf-8-sig")


@pytest.mark.parametrize("text", ["a,b\n韭菜,张伟\n", "市场,商品\n东门,芹菜\n"])
def test_ordinary_gbk_files_keep_working(text):
    assert decode_csv(text.encode("gbk"), "gbk.csv") == (text, "gb18030")


def test_results_import_refuses_then_takes_encoding(places, env_db, tmp_path):  # noqa: F811
    f = write_csv(tmp_path / "day.csv", [row(commodity="山药", tested_by="史伟")],
                  encoding="gbk")
    f.read_bytes().decode("utf-8")   # the GBK file is valid UTF-8 as well
    r = places("results", "import", f)
    assert r.exit_code == 2 and "day.csv: cannot tell the encoding" in r.output
    assert "--encoding" in r.output and "Traceback" not in r.output
    assert results(env_db) == []
    r = places("results", "import", f, "--encoding", "gbk")
    assert r.exit_code == 0, r.output
    (stored,) = results(env_db)
    assert stored.tested_by == "史伟"


# ---- XLSX formulas without a cached value ----------------------------------------------------


def _workbook(cached: str | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "results"
    ws.append(["sample_code", "control_delta", "sample_delta"])
    for i in range(5):
        ws.append([f"S{i}", 0.45, 0.40])
    ws.append(["S5", 0.45, "=B7*0.8"])   # cell C7
    other = wb.create_sheet("notes")
    other.append(["a"])
    buf = io.BytesIO()
    wb.save(buf)
    if cached is None:   # openpyxl writes the formula without a value, as a script would
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z, zipfile.ZipFile(out, "w") as w:
        for info in z.infolist():
            w.writestr(info, z.read(info.filename).replace(
                b"<f>B7*0.8</f><v />", f"<f>B7*0.8</f><v>{cached}</v>".encode()))
    return out.getvalue()


def test_a_formula_without_a_value_is_named_by_sheet_and_cell():
    data = _workbook()
    with pytest.raises(FileFormatError) as exc:
        read_xlsx_bytes(data, "day.xlsx")
    assert str(exc.value).startswith("day.xlsx: formula without a value in cell C7 "
                                     "(sheet 'results')")
    with pytest.raises(FileFormatError, match="formula without a value in cell C7"):
        read_xlsx_sheets(data, "setup.xlsx")


def test_a_formula_with_its_cached_value_is_read():
    table = read_xlsx_bytes(_workbook(cached="0.36"), "day.xlsx")
    assert table.rows[-1] == (7, ["S5", 0.45, 0.36])


def test_a_workbook_without_formulas_reads_as_before():
    wb = Workbook()
    wb.active.append(["a", "b"])
    wb.active.append([1, None])
    buf = io.BytesIO()
    wb.save(buf)
    assert read_xlsx_bytes(buf.getvalue(), "x.xlsx").rows == [(2, [1, None])]
