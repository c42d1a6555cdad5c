"""Numbers are parsed strictly wherever people type them: ``lims correct --set`` and the import
refuse ``nan``, ``inf``, ``1_0`` and ``0_05`` (Python's float reads the last two as 10 and 5);
a correction may set only the method's raw values; an absurd test time is a row error."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from typer.testing import CliRunner

from lims.cli import app
from lims.errors import InvalidInput, ValidationFailed
from lims.files.results_import import parse_rows
from lims.files.tabular import Table
from lims.intake.corrections import correct_result, parse_number
from lims.models import TestResult
from lims.security.auth import SYSTEM
from tests.conftest import TZ


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1_0", "0_05",
                                  "1e999", "", " ", "0x10", "١٢", "1.2.3", "--1"])
def test_parse_number_refuses(text):
    with pytest.raises(ValueError):
        parse_number(text)


@pytest.mark.parametrize("text, value", [("0.05", 0.05), (" -1 ", -1.0), ("2e-3", 0.002),
                                         ("+.5", 0.5), ("10", 10.0), ("3.", 3.0)])
def test_parse_number_reads_plain_numbers(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("bad", ["0_05", "1_0", "nan", "inf"])
def test_import_refuses_loose_numbers(bad):
    table = Table(["method", "tested_at", "analyte", "commodity", "market", "value"],
                  [(2, ["LAB-GCMS", "2026-05-06 08:00", "毒死蜱", "芹菜", "M1", bad])])
    with pytest.raises(ValidationFailed) as exc:
        parse_rows(table, name="t.csv")
    assert [(e.row, e.field) for e in exc.value.errors] == [(2, "value")]


@pytest.mark.parametrize("when", ["0001-01-01", "0001-01-01 00:00", "1899-12-31 23:59"])
def test_import_refuses_an_absurd_test_time_as_a_row_error(when):
    table = Table(["method", "tested_at", "colour", "commodity", "market"],
                  [(2, ["ENZ-CARD", when, "sky_blue", "生菜", "M1"])])
    with pytest.raises(ValidationFailed) as exc:
        parse_rows(table, name="t.csv")
    (err,) = exc.value.errors
    assert (err.row, err.field) == (2, "tested_at") and "too early" in err.message


def _enzyme_result(s: Session) -> int:
    from lims.intake.pipeline import ReadingIn, accept_readings
    from lims.models import Market

    s.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
    s.flush()
    rid = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": 0.30},
        tested_at=datetime(2026, 5, 6, 9, 30, tzinfo=TZ), market="M1",
        commodity="小白菜")]).stored[0].result_id
    s.commit()
    return rid


@pytest.mark.parametrize("raw, words", [
    ({"verdict": "negative"}, "no raw value 'verdict'"),
    ({"status": "recorded"}, "no raw value 'status'"),
    ({"colour": "unchanged"}, "no raw value 'colour'"),
    ({"sample_delta": float("nan")}, "must be a finite number"),
    ({"sample_delta": float("inf")}, "must be a finite number"),
    ({"sample_delta": "0.1"}, "must be a finite number"),
    ({"sample_delta": True}, "must be a finite number"),
])
def test_correct_result_sets_only_the_methods_raw_numbers(session, raw, words):
    rid = _enzyme_result(session)
    with pytest.raises(InvalidInput, match=words):
        correct_result(session=session, actor=SYSTEM, result_id=rid, raw=raw, reason="typo")
    session.rollback()
    assert session.get(TestResult, rid).raw == {"control_delta": 0.35, "sample_delta": 0.30}


def test_correct_cli_refuses_loose_numbers_and_other_keys(env_db):
    def run(*args):
        return CliRunner().invoke(app, list(args))

    assert run("init").exit_code == 0
    engine = sa.create_engine(env_db)
    with Session(engine) as s:
        rid = _enzyme_result(s)
    engine.dispose()
    for item, words in (("sample_delta=nan", "sample_delta must be a finite number"),
                        ("sample_delta=inf", "sample_delta must be a finite number"),
                        ("sample_delta=1_0", "sample_delta must be a finite number"),
                        ("sample_delta=0_05", "sample_delta must be a finite number"),
                        ("sample_delta=abc", "sample_delta must be a finite number"),
                        ("verdict=negative", "no raw value 'verdict'")):
        res = run("correct", str(rid), "--set", item, "--reason", "typo")
        assert res.exit_code == 2 and words in res.output, (item, res.output)
    res = run("correct", str(rid), "--set", "sample_delta=0.10", "--reason", "typo", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["raw"] == {"control_delta": 0.35, "sample_delta": 0.10}
