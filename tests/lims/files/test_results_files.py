"""results_import, results_export and tabular at the service level: permissions, encodings, escaping, parsing."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlmodel import select

from lims.errors import PermissionDenied, ValidationFailed
from lims.files.results_export import export_results
from lims.files.results_import import IMPORT_COLUMNS, import_results, parse_rows
from lims.files.tabular import (
    FileFormatError,
    Table,
    decode_csv,
    escape,
    read_csv_bytes,
    unescape,
)
from lims.models import AuditEvent, Market, TestResult
from lims.models.enums import Role
from lims.security.auth import Actor
from lims.settings import PROJECT_ROOT

ADMIN = Actor("admin", Role.ADMIN)


def test_import_needs_permission(session, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("method,tested_at,commodity,market\nENZ-CARD,2026-05-06 08:00,生菜,M\n")
    for role in (Role.FIELD_TESTER, Role.MANAGER):
        with pytest.raises(PermissionDenied):
            import_results(session=session, actor=Actor("u", role), path=f)
    assert session.exec(select(TestResult)).all() == []


def test_import_is_audited(session, tmp_path):
    session.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
    session.commit()
    f = tmp_path / "x.csv"
    f.write_text("method,tested_at,commodity,market,colour\n"
                 "ENZ-CARD,2026-05-06 08:00,生菜,M1,unchanged\n", encoding="utf-8")
    rep = import_results(session=session, actor=Actor("lab1", Role.LAB_TECHNICIAN), path=f)
    session.commit()
    assert rep.created == 1 and rep.verdicts == {"positive": 1}
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "results.import")).one()
    assert ev.actor == "lab1" and ev.new["created"] == 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_decode_csv_encodings(encoding):
    text = "commodity,tested_by\n韭菜,张伟\n"
    got, used = decode_csv(text.encode(encoding))
    assert got == text
    assert used == {"gbk": "gb18030"}.get(encoding, encoding)


def test_decode_refuses_binary_and_garbage():
    with pytest.raises(FileFormatError, match="binary"):
        decode_csv(b"a,b\x00c")
    with pytest.raises(FileFormatError, match="neither UTF-8 nor GBK"):
        decode_csv(b"a,b\n\xff\xfe\xff\n")


@pytest.mark.parametrize("value", ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\r=1"])
def test_escape_round_trip(value):
    assert escape(value).startswith("'")
    assert unescape(escape(value)) == value


@pytest.mark.parametrize("value", ["plain", "小白菜", "0.45", "'quoted"])
def test_escape_leaves_ordinary_text(value):
    assert escape(value) == value and unescape(value) == value
    assert escape(-0.5) == -0.5  # numbers stay numbers


def test_semicolon_csv_and_line_numbers_with_quoted_newlines():
    data = ('method;tested_at;commodity;market;tested_by\n'
            'ENZ-CARD;2026-05-06 08:00;生菜;M1;"two\nlines"\n'
            'ENZ-CARD;not a time;生菜;M1;x\n').encode()
    table = read_csv_bytes(data)
    assert table.header[:2] == ["method", "tested_at"]
    with pytest.raises(ValidationFailed) as exc:
        parse_rows(table, name="t.csv")
    (err,) = exc.value.errors
    assert (err.row, err.field) == (4, "tested_at")


def test_parse_reports_every_bad_cell():
    table = Table(["method", "tested_at", "control_delta", "sample_delta", "resident_purchase",
                   "sample_code"],
                  [(2, ["ENZ-5009.199", "2026-05-06 08:00", "abc", "inf", "maybe", "x y"]),
                   (3, ["", "2999-01-01 00:00", "0.4", "0.1", "", ""]),
                   (4, [None, None, None, None, None, None])])
    with pytest.raises(ValidationFailed) as exc:
        parse_rows(table, name="t")
    got = [(e.row, e.field) for e in exc.value.errors]
    assert got == [(2, "control_delta"), (2, "sample_delta"), (2, "sample_code"),
                   (2, "resident_purchase"), (3, "method"), (3, "tested_at")]
    assert "future" in exc.value.errors[-1].message


def test_xlsx_datetime_cells_are_local_time():
    table = Table(["method", "tested_at", "colour", "commodity", "market"],
                  [(2, ["ENZ-CARD", datetime(2026, 5, 6, 8, 0), "sky_blue", "生菜", "M1"])])
    (r,) = parse_rows(table, name="t.xlsx")
    assert r.tested_at.utcoffset().total_seconds() == 8 * 3600


def test_export_csv_to_a_stream(session):
    buf = io.BytesIO()
    assert export_results(session=session, actor=ADMIN, out=buf, fmt="csv") == 0
    assert buf.getvalue().decode("utf-8-sig").startswith("result_id,sample_code,market,")
    with pytest.raises(ValueError, match="csv or xlsx"):
        export_results(session=session, actor=ADMIN, out=buf, fmt="pdf")


def test_readme_lists_the_import_columns():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Importing results"):]
    for col in IMPORT_COLUMNS:
        assert f"`{col}`" in section, col


# --------------------------------------------------------------------------- property tests

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CELL = st.one_of(st.none(), st.text(max_size=12), st.floats(allow_nan=True),
                 st.integers(-10**6, 10**6), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_read_as_a_table_or_a_clear_error(data):
    try:
        table = read_csv_bytes(data, "x.csv")
    except FileFormatError as exc:
        assert "x.csv" in str(exc)
    else:
        assert isinstance(table.header, list)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(CELL, min_size=6, max_size=6), min_size=1, max_size=5))
def test_any_cells_parse_or_fail_with_row_errors(rows):
    header = ["method", "tested_at", "control_delta", "sample_delta", "resident_purchase",
              "sample_code"]
    table = Table(header, [(i + 2, r) for i, r in enumerate(rows)])
    try:
        readings = parse_rows(table, name="t")
    except ValidationFailed as exc:
        lines = {i + 2 for i in range(len(rows))}
        assert all(e.row in lines for e in exc.errors)
        assert all(e.field in header for e in exc.errors)
    except FileFormatError as exc:
        assert "no data rows" in str(exc)
    else:
        assert all(r.tested_at.tzinfo is not None for r in readings)
        assert all(isinstance(v, float) for r in readings for k, v in r.raw.items()
                   if k in ("control_delta", "sample_delta"))


def test_header_only_file_is_refused():
    with pytest.raises(FileFormatError, match="no data rows"):
        parse_rows(read_csv_bytes(b"method,tested_at\n"), name="empty.csv")
    with pytest.raises(FileFormatError, match="empty"):
        read_csv_bytes(b"", "empty.csv")
