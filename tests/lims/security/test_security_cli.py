"""The CLI's identity, `lims init`'s first admin, `lims user …` and `lims audit …` (SQLite file)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from lims.cli import app
from tests.conftest import TZ

ADMIN_PW = "Lab-secret-2026"
runner = CliRunner()


def run(*args, input=None, **env):
    return runner.invoke(app, list(args), input=input, env=env)


@pytest.fixture
def installed(env_db, monkeypatch):
    """`lims init` with LIMS_ADMIN_PASSWORD; the CLI then logs in as that admin."""
    res = run("init", LIMS_ADMIN_PASSWORD=ADMIN_PW)
    assert res.exit_code == 0, res.output
    assert "first admin created: admin" in res.output
    monkeypatch.setenv("LIMS_USER", "admin")
    monkeypatch.setenv("LIMS_PASSWORD", ADMIN_PW)
    return env_db


def test_init_without_admin_password_creates_no_user_and_says_so(env_db):
    res = run("init", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["admin_created"] is None
    res = run("init")
    assert "LIMS_ADMIN_PASSWORD" in res.output
    # bootstrap mode: no user yet, the OS user is the local admin
    res = run("user", "list", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout) == []


def test_init_refuses_a_weak_admin_password(env_db):
    res = run("init", LIMS_ADMIN_PASSWORD="admin")
    assert res.exit_code == 2 and "password: must be at least" in res.output
    res = run("user", "list", "--json")
    assert json.loads(res.stdout) == []


def test_init_prompts_for_the_first_admin_on_a_terminal(env_db, monkeypatch):
    monkeypatch.setattr("lims.cli.user_cmd.stdin_is_tty", lambda: True)
    res = run("init", "--admin-user", "chief", input=f"short\nshort\n{ADMIN_PW}\n{ADMIN_PW}\n")
    assert res.exit_code == 0, res.output
    assert "must be at least" in res.output and "first admin created: chief" in res.output
    res = run("user", "list", "--json", LIMS_USER="chief", LIMS_PASSWORD=ADMIN_PW)
    assert [u["username"] for u in json.loads(res.stdout)] == ["chief"]


def test_first_admin_is_created_once(installed):
    res = run("init", "--json", LIMS_ADMIN_PASSWORD="Another-admin-99")
    assert res.exit_code == 0 and json.loads(res.stdout)["admin_created"] is None
    res = run("user", "list", "--json")
    assert [u["username"] for u in json.loads(res.stdout)] == ["admin"]


def test_once_users_exist_the_cli_needs_a_login(installed, monkeypatch):
    monkeypatch.delenv("LIMS_USER")
    res = run("user", "list")
    assert res.exit_code == 2 and "set LIMS_USER and LIMS_PASSWORD" in res.output
    monkeypatch.setenv("LIMS_USER", "admin")
    monkeypatch.delenv("LIMS_PASSWORD")
    res = run("user", "list")
    assert res.exit_code == 2 and "LIMS_PASSWORD is not set" in res.output
    res = run("user", "list", LIMS_PASSWORD="wrong")
    assert res.exit_code == 2 and "wrong username or password" in res.output


def test_user_lifecycle_through_the_cli(installed):
    res = run("user", "add", "ft1", "--role", "field_tester", "--display-name", "李四",
              "--password-env", "NEWPW", "--json", NEWPW="Field-test-001")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["role"] == "field_tester"
    # the field tester may not manage users
    res = run("user", "list", LIMS_USER="ft1", LIMS_PASSWORD="Field-test-001")
    assert res.exit_code == 2 and "may not users.manage" in res.output
    # an admin resets the password with the hidden prompt (typed twice)
    res = run("user", "passwd", "ft1", input="Field-test-002\nField-test-002\n")
    assert res.exit_code == 0, res.output
    assert "Field-test-002" not in res.output
    res = run("user", "passwd", LIMS_USER="ft1", LIMS_PASSWORD="Field-test-002",
              input="Field-test-003\nField-test-003\n")
    assert res.exit_code == 0, res.output
    res = run("user", "disable", "ft1", "--reason", "left the team")
    assert res.exit_code == 0
    res = run("user", "list", LIMS_USER="ft1", LIMS_PASSWORD="Field-test-003")
    assert res.exit_code == 2 and "disabled" in res.output
    res = run("audit", "log", "--entity", "user", "--id", "ft1", "--json")
    events = json.loads(res.stdout)
    assert [e["action"] for e in events] == ["user.disable", "user.password", "user.password",
                                             "user.add"]
    assert events[0]["reason"] == "left the team"
    assert all("argon2" not in json.dumps(e) for e in events)


@pytest.mark.parametrize("args, message", [
    (["user", "add", "x1", "--role", "boss", "--password-env", "P"], "role 'boss'"),
    (["user", "add", "bad name", "--role", "manager", "--password-env", "P"], "username"),
    (["user", "add", "x2", "--role", "manager", "--password-env", "UNSET_VAR"],
     "UNSET_VAR is not set"),
    (["user", "disable", "nobody", "--reason", "x"], "unknown user 'nobody'"),
    (["audit", "log", "--limit", "0"], "--limit"),
    (["restore", "/nonexistent/backup.sqlite3", "--yes"], "no such file"),
])
def test_cli_arguments_are_validated_with_clear_messages(installed, args, message):
    res = run(*args, P="Valid-pass-123")
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_audit_verify_exit_codes_and_the_named_link(installed):
    run("user", "add", "ft2", "--role", "field_tester", "--password-env", "P", P="Field-test-001")
    run("user", "add", "mg1", "--role", "manager", "--password-env", "P", P="Manager-pw-001")
    res = run("audit", "verify", "--json")
    report = json.loads(res.stdout)
    head = report.pop("head")
    report = {k: report[k] for k in ("ok", "checked", "broken_at", "problem")}   # + seals
    assert res.exit_code == 0 and report == {
        "ok": True, "checked": 3, "broken_at": None, "problem": ""}
    engine = sa.create_engine(installed)
    with engine.connect() as conn:
        assert head == conn.exec_driver_sql(
            "SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1").scalar()
    engine.dispose()
    engine = sa.create_engine(installed)
    with engine.begin() as conn:
        second = conn.exec_driver_sql("SELECT id FROM audit_event ORDER BY id").all()[1][0]
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        conn.exec_driver_sql(f"UPDATE audit_event SET actor = 'ghost' WHERE id = {second}")
    engine.dispose()
    res = run("audit", "verify")
    assert res.exit_code == 1
    assert f"BROKEN at event {second}" in res.output
    # a manager may read the trail, a field tester may not
    assert run("audit", "verify", LIMS_USER="mg1", LIMS_PASSWORD="Manager-pw-001").exit_code == 1
    res = run("audit", "log", LIMS_USER="ft2", LIMS_PASSWORD="Field-test-001")
    assert res.exit_code == 2 and "may not audit.read" in res.output


def test_correct_and_void_through_the_cli(env_db):
    from datetime import datetime

    from sqlmodel import Session

    from lims.intake.pipeline import ReadingIn, accept_readings
    from lims.models import Market
    from lims.security.auth import SYSTEM


    assert run("init").exit_code == 0
    engine = sa.create_engine(env_db)
    with Session(engine) as s:
        s.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
        s.commit()
        rid = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": 0.30},
            tested_at=datetime(2026, 5, 6, 9, 30, tzinfo=TZ), market="M1",
            commodity="小白菜")]).stored[0].result_id
        s.commit()
    engine.dispose()
    res = run("correct", str(rid), "--set", "sample_delta", "--reason", "x")
    assert res.exit_code == 2 and "expected KEY=VALUE" in res.output
    res = run("correct", str(rid), "--set", "sample_delta=0.10", "--reason", "")
    assert res.exit_code == 2 and "reason" in res.output
    res = run("correct", str(rid), "--set", "sample_delta=0.10", "--reason", "sheet typo",
              "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["verdict"] == "positive"
    res = run("void", str(rid), "--reason", "wrong stall")
    assert res.exit_code == 0, res.output
    res = run("void", "999999", "--reason", "x")
    assert res.exit_code == 2 and "999999 does not exist" in res.output
    events = json.loads(run("audit", "log", "--entity", "test_result", "--json").stdout)
    assert [(e["action"], e["reason"]) for e in events] == [
        ("result.void", "wrong stall"), ("result.correct", "sheet typo")]
