"""`lims results import/export/show`: all-or-nothing import, encodings, XLSX, formula escaping."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import Workbook, load_workbook
from sqlmodel import Session, select

from lims.models import Sample, TestResult, Vendor
from lims.storage.engine import make_engine
from tests.lims.cli.conftest import add_places

HEADER = ["sample_code", "market", "vendor_stall", "commodity", "method", "analyte",
          "instrument", "tested_at", "tested_by", "channel", "control_delta", "sample_delta",
          "colour", "t", "c", "value", "unit", "instrument_verdict"]


def row(**kw) -> list[str]:
    base = {"market": "T-F01", "vendor_stall": "A01", "commodity": "小白菜",
            "method": "ENZ-5009.199", "instrument": "RP12-OK", "tested_at": "2026-05-06 09:30",
            "tested_by": "刘敏", "channel": "2", "control_delta": "0.452",
            "sample_delta": "0.401"}
    base.update(kw)
    return [str(base.get(h, "")) for h in HEADER]


def write_csv(path, rows, encoding="utf-8", header=HEADER):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def results(url: str) -> list[TestResult]:
    engine = make_engine(url)
    with Session(engine) as s:
        out = list(s.exec(select(TestResult).order_by(TestResult.id)))
    engine.dispose()
    return out


def test_import_good_file(places, env_db, tmp_path):
    f = write_csv(tmp_path / "ok.csv", [
        row(),
        row(control_delta="0.303", sample_delta="0.131", instrument_verdict="阴性", channel="3"),
        row(method="KJ-GOLD-CBF", commodity="豇豆", instrument="", control_delta="",
            sample_delta="", t="0.35", c="0.98", channel=""),
        row(instrument="RP12-OLD", tested_at="2026-05-06T10:00:00+08:00"),
    ])
    result = places("results", "import", f, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["created"] == 4 and report["held"] == 1 and report["mismatches"] == 1
    rs = results(env_db)
    assert [r.verdict for r in rs] == ["negative", "positive", "positive", "negative"]
    assert [r.status for r in rs] == ["recorded", "recorded", "recorded", "held"]
    assert all(r.source == "import" for r in rs)
    assert rs[0].raw == {"control_delta": 0.452, "sample_delta": 0.401}


def test_one_bad_row_writes_nothing_and_names_it(places, env_db, tmp_path):
    f = write_csv(tmp_path / "bad.csv", [
        row(), row(), row(sample_delta="0,401"), row(),
        row(commodity="火龙果X", tested_at="yesterday"),
    ])
    result = places("results", "import", f)
    assert result.exit_code == 1
    out = result.output
    assert "line 4, column sample_delta: not a number: '0,401'" in out
    assert "line 6, column tested_at" in out and "nothing written" in out
    assert "line 2" not in out and "line 3," not in out
    assert results(env_db) == []


def test_bad_names_found_by_ingest_are_reported_with_lines(places, env_db, tmp_path):
    f = write_csv(tmp_path / "names.csv", [
        row(), row(commodity="dragonfruit"), row(market="NOWHERE"), row(method="ENZ-9999")])
    result = places("results", "import", f, "--json")
    assert result.exit_code == 1
    data = json.loads(result.output[:result.output.rindex("}") + 1])
    got = {(e["line"], e["column"]) for e in data["errors"]}
    assert got == {(3, "commodity"), (4, "market"), (5, "method")}
    assert results(env_db) == []


def test_gbk_csv_from_chinese_excel(places, env_db, tmp_path):
    f = write_csv(tmp_path / "gbk.csv", [row(commodity="韭菜", tested_by="张伟")], encoding="gbk")
    with open(f, "rb") as fh:  # really not UTF-8
        raw = fh.read()
    assert "韭菜".encode("gbk") in raw
    result = places("results", "import", f)
    assert result.exit_code == 0, result.output
    (r,) = results(env_db)
    assert r.tested_by == "张伟"
    engine = make_engine(env_db)
    with Session(engine) as s:
        assert s.get(Sample, r.sample_id).commodity_id == r.commodity_id
    engine.dispose()


def test_utf8_bom_and_chinese_headers(places, env_db, tmp_path):
    f = tmp_path / "bom.csv"
    f.write_bytes("\ufeff样品名称,市场,检测方法,检测时间,colour\n生菜,T-F01,ENZ-CARD,2026/05/06 08:10,"
                  "sky_blue\n".encode())
    result = places("results", "import", f)
    assert result.exit_code == 0, result.output
    assert [r.verdict for r in results(env_db)] == ["negative"]


def test_wrong_files_are_refused_clearly(places, tmp_path):
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    r = places("results", "import", xls)
    assert r.exit_code == 2 and "unsupported file type '.xls'" in r.output
    fake = tmp_path / "fake.xlsx"
    fake.write_text("sample_code,method\n")
    r = places("results", "import", fake)
    assert r.exit_code == 2 and "not a readable .xlsx" in r.output
    nohead = write_csv(tmp_path / "nohead.csv", [], header=["foo", "bar"])
    r = places("results", "import", nohead)
    assert r.exit_code == 2 and "unknown column(s) 'foo', 'bar'" in r.output
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00garbage")
    r = places("results", "import", binary)
    assert r.exit_code == 2 and "binary content" in r.output


def test_same_file_twice_is_stored_once(places, env_db, tmp_path):
    f = write_csv(tmp_path / "twice.csv", [row(), row(sample_code="SLIP-0001", channel="4"),
                                            row(sample_code="SLIP-0001", method="LAB-GCMS",
                                                analyte="氧乐果", commodity="小白菜",
                                                instrument="", value="0.01")])
    assert places("results", "import", f).exit_code == 0
    again = places("results", "import", f, "--json")
    assert json.loads(again.output)["created"] == 0
    rs = results(env_db)
    assert len(rs) == 3
    # the new code names one sample holding both of its results, the lab result linked
    assert rs[1].sample_id == rs[2].sample_id != rs[0].sample_id
    assert rs[2].retest_of_id == rs[1].id and rs[1].retest_of_id is None
    shown = places("results", "show", "slip-0001", "--json")
    data = json.loads(shown.output)
    assert data["code"] == "SLIP-0001" and len(data["results"]) == 2
    # omethoate in pak choi: the leafy-vegetable group's row (0.01 ≤ 0.02), unconfirmed
    assert data["results"][1]["verdict"] == "compliant"
    reasons = " ".join(data["results"][1]["reasons"])
    assert "叶菜类蔬菜 (group)" in reasons and "limit unconfirmed" in reasons


def test_lab_result_for_an_existing_sample_is_linked_to_its_screen(places, env_db, tmp_path):
    screen = write_csv(tmp_path / "screen.csv", [row(sample_code="LEEK-0001", commodity="韭菜",
                                                     control_delta="0.45", sample_delta="0.12")])
    assert places("results", "import", screen).exit_code == 0
    lab = write_csv(tmp_path / "lab.csv", [
        row(sample_code="LEEK-0001", market="", vendor_stall="", commodity="", instrument="",
            control_delta="", sample_delta="", channel="", method="LAB-GCMS", analyte="氧乐果",
            value="0.05", tested_at="2026-05-08 14:00"),
        row(sample_code="LEEK-0001", market="T-S01", vendor_stall="", commodity="",
            instrument="", control_delta="", sample_delta="", channel="", method="LAB-GCMS",
            analyte="氧乐果", value="0.01", tested_at="2026-05-08 15:00")])
    r = places("results", "import", lab)
    assert r.exit_code == 1 and "line 3, column market: sample LEEK-0001 is not from" in r.output
    lab.write_text("\n".join(lab.read_text().splitlines()[:2]) + "\n")
    assert places("results", "import", lab).exit_code == 0
    first, second = results(env_db)
    assert (first.verdict, second.verdict) == ("positive", "noncompliant")
    assert second.retest_of_id == first.id and second.sample_id == first.sample_id


def test_show_text_lists_reasons(places, tmp_path):
    f = write_csv(tmp_path / "one.csv", [row(sample_code="ABCD-1234", control_delta="0.303",
                                             sample_delta="0.131")])
    assert places("results", "import", f).exit_code == 0
    out = places("results", "show", "ABCD-1234").output
    assert "POSITIVE" in out and "inhibition 56.77 % ≥ 50 %" in out
    missing = places("results", "show", "ZZZZ-0000")
    assert missing.exit_code == 2 and "unknown sample code" in missing.output


def _poison_vendor(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as s:
        v = s.exec(select(Vendor).where(Vendor.stall == "A01")).one()
        v.name = '=HYPERLINK("http://evil.example","x")'
        s.add(Vendor(market_id=v.market_id, stall="@A9", name="+1+1"))
        s.commit()
    engine.dispose()


def test_export_escapes_formulas_csv(places, env_db, tmp_path):
    _poison_vendor(env_db)
    f = write_csv(tmp_path / "in.csv", [row(), row(vendor_stall="@A9", tested_by="-2+3",
                                                     sample_delta="-0.01")])
    assert places("results", "import", f).exit_code == 0
    out = tmp_path / "out.csv"
    assert places("results", "export", "--format", "csv", "--out", out).exit_code == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["vendor_name"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert rows[1]["vendor_stall"] == "'@A9" and rows[1]["vendor_name"] == "'+1+1"
    assert rows[1]["tested_by"] == "'-2+3"
    assert rows[1]["sample_delta"] == "-0.01"  # numbers are data, not escaped
    assert rows[0]["tested_at"] == "2026-05-06 09:30:00"  # local time
    assert rows[0]["commodity"] == "小白菜" and rows[0]["commodity_en"] == "pak choi"
    for r in rows:
        for v in r.values():
            assert not (v or "").startswith(("=", "+", "@")) or v.startswith("'")


def test_export_escapes_formulas_xlsx(places, env_db, tmp_path):
    _poison_vendor(env_db)
    f = write_csv(tmp_path / "in.csv", [row()])
    assert places("results", "import", f).exit_code == 0
    out = tmp_path / "out.xlsx"
    assert places("results", "export", "--format", "xlsx", "--out", out).exit_code == 0
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    cells = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert cells["vendor_name"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)


def test_export_filters(places, env_db, tmp_path):
    f = write_csv(tmp_path / "in.csv", [
        row(tested_at="2026-05-01 09:00"), row(tested_at="2026-05-03 09:00"),
        row(market="T-S01", vendor_stall="S01", tested_at="2026-05-03 10:00")])
    assert places("results", "import", f).exit_code == 0
    result = places("results", "export", "--market", "T-F01", "--from", "2026-05-02",
                    "--to", "2026-05-31")
    assert result.exit_code == 0, result.output
    text = result.output.lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[:text.rindex("\n") + 1])))
    assert [(r["market"], r["tested_at"]) for r in rows] == [("T-F01", "2026-05-03 09:00:00")]
    bad = places("results", "export", "--from", "May 1")
    assert bad.exit_code == 2 and "--from" in bad.output


def test_xlsx_import_export_round_trip(places, env_db, tmp_path, monkeypatch):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(row())
    ws.append(row(sample_code="RT-0001", control_delta="0.5", sample_delta="0.2"))
    ws.append(row(sample_code="RT-0001", method="LAB-GCMS", analyte="甲基异柳磷", commodity="豇豆",
                  instrument="", value="0.02", market="T-F01", vendor_stall="A01"))
    xin = tmp_path / "in.xlsx"
    wb.save(xin)
    r = places("results", "import", xin, "--json")
    assert r.exit_code == 1  # line 4: RT-0001 given two commodities
    assert "line 4" in r.output or '"line": 4' in r.output
    ws.delete_rows(4)
    ws.append(row(sample_code="RT-0002", method="KJ-GOLD-CBF", commodity="豇豆", instrument="",
                  control_delta="", sample_delta="", t="1.3", c="0.9", channel=""))
    wb.save(xin)
    assert places("results", "import", xin).exit_code == 0
    first = tmp_path / "first.xlsx"
    assert places("results", "export", "--format", "xlsx", "--out", first).exit_code == 0

    # import the export into a second database with the same places; export again
    second_db = f"sqlite:///{tmp_path / 'second.sqlite3'}"
    monkeypatch.setenv("LIMS_DATABASE_URL", second_db)
    from lims.storage.engine import engine_for

    engine_for.cache_clear()
    assert places("init").exit_code == 0
    add_places(second_db)
    assert places("results", "import", first).exit_code == 0
    second = tmp_path / "second.xlsx"
    assert places("results", "export", "--format", "xlsx", "--out", second).exit_code == 0

    def table(path):
        rows = list(load_workbook(path).active.iter_rows(values_only=True))
        header = rows[0]
        keep = [i for i, h in enumerate(header) if h not in ("result_id", "sample_code",
                                                             "source", "retest_of")]
        return [tuple(r[i] for i in keep) for r in rows[1:]]

    a, b = table(first), table(second)
    assert len(a) == 3 and a == b
    codes = [r[1] for r in list(load_workbook(second).active.iter_rows(values_only=True))[1:]]
    assert "RT-0001" in codes and "RT-0002" in codes
    # and importing the export into the database it came from changes nothing
    again = places("results", "import", second, "--json")
    assert json.loads(again.output)["created"] == 0
