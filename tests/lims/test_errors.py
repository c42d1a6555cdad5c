"""Services raise only the project's own errors (lims.errors), so the CLI and the app can turn
every refusal into a message instead of a traceback."""

from __future__ import annotations

import ast
from datetime import date

import pytest

from lims.errors import ConfigError, Conflict, InvalidInput, LimsError
from lims.intake import corrections, review
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Instrument, Market, TestResult
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from lims.settings import PROJECT_ROOT, load_settings
from tests.conftest import TZ
from tests.lims.conftest import T0

LIMS = PROJECT_ROOT / "lims"
BUILTINS = frozenset({"ValueError", "KeyError", "RuntimeError", "Exception", "TypeError",
                      "LookupError", "AssertionError"})

#: Not services, so not checked: the CLI front end (its handle_errors turns ValueError into a
#: message too), the benchmark harness, migrations, and the pure verdict engine (no lims imports;
#: its ValueError is its own contract, like instruments/ and calibration/ outside lims/).
NOT_SERVICES = ("lims/cli/", "lims/bench/", "lims/migrations/", "lims/verdicts.py",
                "lims/verdicts/")

#: Service files that may still raise bare built-ins because another developer owned them when
#: the rule came in (issue 12 item 6); their owner removes each entry once its raises are
#: LimsErrors. Empty now: lims/files/results_io.py (the last one) was split into
#: results_import.py / results_export.py without bare raises.
ALLOWED: set[str] = set()


def bare_builtin_raises(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id in BUILTINS:
                out.append((node.lineno, exc.id))
    return [f"{path.relative_to(PROJECT_ROOT)}:{line} raises {name}" for line, name in sorted(out)]


def service_files() -> list:
    files = []
    for path in sorted(LIMS.rglob("*.py")):
        rel = path.relative_to(PROJECT_ROOT).as_posix()
        if not rel.startswith(NOT_SERVICES) and rel not in ALLOWED:
            files.append(path)
    return files


def test_services_raise_only_lims_errors():
    files = service_files()
    assert any(p.name == "corrections.py" for p in files)   # the walk sees the services
    bad = [hit for p in files for hit in bare_builtin_raises(p)]
    assert bad == [], ("raise a lims.errors class (InvalidInput, ConfigError, Conflict, NotFound "
                       "…) instead:\n" + "\n".join(bad))


def test_the_allow_list_names_files_that_exist():
    assert all((PROJECT_ROOT / rel).is_file() for rel in ALLOWED)


def test_the_check_sees_a_bare_raise(tmp_path, monkeypatch):
    bad = tmp_path / "lims" / "svc.py"
    bad.parent.mkdir()
    bad.write_text("def f(x):\n    if x:\n        raise ValueError(x)\n    raise KeyError\n",
                   encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PROJECT_ROOT", tmp_path)
    assert bare_builtin_raises(bad) == ["lims/svc.py:3 raises ValueError",
                                        "lims/svc.py:4 raises KeyError"]


def test_error_classes_keep_except_valueerror_callers_working():
    assert issubclass(InvalidInput, LimsError) and issubclass(InvalidInput, ValueError)
    assert issubclass(ConfigError, LimsError) and issubclass(ConfigError, ValueError)
    assert issubclass(Conflict, LimsError)


def test_a_bad_setting_is_a_config_error_naming_it(monkeypatch):
    monkeypatch.setenv("LIMS_LANG", "fr")
    with pytest.raises(ConfigError, match="LIMS_LANG"):
        load_settings()


TECH = Actor("wang.tech", Role.LAB_TECHNICIAN)


@pytest.fixture
def held_result(session) -> int:
    """A result of an analyzer that was never calibrated: stored held."""
    session.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
    session.add(Instrument(serial_no="SN-NEW", model="RP-12", kind="pesticide_analyzer",
                           driver="profile"))
    session.commit()
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": 0.05}, tested_at=T0,
        market="M1", commodity="小白菜", instrument_serial="SN-NEW", ingest_key="held-1")])
    session.commit()
    (stored,) = rep.stored
    assert stored.status == "held"
    return stored.result_id


@pytest.mark.parametrize("reason", ["", "   "])
def test_voiding_a_held_result_without_a_reason_is_a_lims_error_naming_the_reason(
        session, held_result, reason):
    with pytest.raises(LimsError, match="reason") as exc:
        corrections.void_result(session=session, actor=TECH, result_id=held_result,
                                reason=reason)
    assert isinstance(exc.value, InvalidInput)
    assert f"test result {held_result}" in str(exc.value)
    session.rollback()
    with pytest.raises(LimsError, match="reason: a reason is required to void"):
        review.void(session=session, actor=TECH, result_id=held_result, reason=reason)
    session.rollback()
    assert session.get(TestResult, held_result).status == "held"


def test_voiding_twice_is_a_conflict(session, held_result):
    corrections.void_result(session=session, actor=TECH, result_id=held_result,
                            reason="wrong sample")
    session.commit()
    with pytest.raises(Conflict, match=f"test result {held_result} is voided already"):
        corrections.void_result(session=session, actor=TECH, result_id=held_result,
                                reason="again")
    with pytest.raises(Conflict, match="not held"):
        review.accept(session=session, actor=TECH, result_id=held_result, reason="ok")


def test_pinned_data_zone_is_the_settings_default():
    """tests.conftest.TZ pins the suite's timestamps; it is the default of LIMS_TIMEZONE."""
    from lims.settings import SETTINGS

    assert next(s.default for s in SETTINGS if s.name == "LIMS_TIMEZONE") == TZ.key
    assert T0.tzinfo is TZ and T0.date() == date(2026, 5, 6)


def test_the_cli_turns_a_lims_error_into_a_message_and_exit_code_2(env_db):
    from typer.testing import CliRunner

    from lims.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["init"], catch_exceptions=False).exit_code == 0
    result = runner.invoke(app, ["void", "1", "--reason", "  "], catch_exceptions=False)
    assert result.exit_code == 2
    assert "error: reason: required to void test result 1" in result.output
    assert "Traceback" not in result.output
