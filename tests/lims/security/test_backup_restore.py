"""`lims backup` / `lims restore`: round trips on SQLite (online API) and PostgreSQL (pg_dump)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from lims.cli import app
from lims.errors import LimsError, PermissionDenied
from lims.intake.corrections import correct_result
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import AuditEvent, Market, TestResult, User
from lims.models.enums import Role
from lims.security import audit, users
from lims.security.auth import SYSTEM, Actor
from lims.security.backup import backup_database, restore_database
from tests.conftest import TZ, _ready_engine

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)
ADMIN = Actor("root1", Role.ADMIN)


def _seed(engine) -> int:
    with Session(engine) as s:
        s.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
        s.commit()
        rep = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": 0.30},
            tested_at=T0, market="M1", commodity="小白菜")])
        users.add_user(session=s, actor=SYSTEM, username="tech9", role="lab_technician",
                       password="Tech-pass-0001")
        s.commit()
        return rep.stored[0].result_id


def _state(engine) -> dict:
    with Session(engine) as s:
        return {
            "results": [(r.id, r.raw, r.verdict, r.status)
                        for r in s.exec(select(TestResult).order_by(TestResult.id))],
            "users": [u.username for u in s.exec(select(User).order_by(User.username))],
            "events": [(e.id, e.hash) for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))],
        }


def _change_after_backup(engine, result_id):
    with Session(engine) as s:
        correct_result(session=s, actor=ADMIN, result_id=result_id, raw={"sample_delta": 0.1},
                       reason="after the backup")
        users.add_user(session=s, actor=ADMIN, username="late1", role="manager",
                       password="Manager-pw-777")
        s.commit()


def _round_trip(engine, tmp_path: Path, out: Path) -> None:
    result_id = _seed(engine)
    before = _state(engine)
    report = backup_database(engine=engine, actor=ADMIN, out=out)
    assert out.is_file() and report.size == out.stat().st_size and len(report.sha256) == 64
    _change_after_backup(engine, result_id)
    assert _state(engine) != before
    restore_database(engine=engine, actor=ADMIN, source=out, backup_dir=tmp_path / "backups")
    after = _state(engine)
    assert after["results"] == before["results"] and after["users"] == before["users"]
    # the restored chain, plus one event that records the restore itself
    assert after["events"][:-1] == before["events"]
    with Session(engine) as s:
        last = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last.action == "database.restore" and last.new["sha256"] == report.sha256
        assert audit.verify(session=s).ok


def test_sqlite_round_trip_keeps_a_pre_restore_copy(sqlite_engine, tmp_path):
    _round_trip(sqlite_engine, tmp_path, tmp_path / "b.sqlite3")
    (safety,) = (tmp_path / "backups").glob("pre-restore-*.sqlite3")
    con = sqlite3.connect(safety)
    try:  # the state just before the restore was saved
        assert con.execute("SELECT count(*) FROM app_user WHERE username='late1'").fetchone() == (1,)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    finally:
        con.close()


@pytest.mark.postgres
def test_postgres_round_trip_with_pg_dump(pg_url, tmp_path):
    engine = _ready_engine(pg_url)
    try:
        _round_trip(engine, tmp_path, tmp_path / "b.pgdump")
        assert (tmp_path / "b.pgdump").read_bytes()[:5] == b"PGDMP"
        # the guards survive a restore
        with engine.connect() as c, pytest.raises(sa.exc.DBAPIError, match="never deleted"):
            c.exec_driver_sql("DELETE FROM test_result")
    finally:
        engine.dispose()


def test_backup_is_consistent_while_a_writer_is_mid_transaction(sqlite_engine, tmp_path):
    _seed(sqlite_engine)
    with Session(sqlite_engine) as writer:
        users.add_user(session=writer, actor=ADMIN, username="pending1", role="manager",
                       password="Pending-pw-001")
        writer.flush()  # written, not committed
        backup_database(engine=sqlite_engine, actor=ADMIN, out=tmp_path / "mid.sqlite3")
        writer.commit()
    con = sqlite3.connect(tmp_path / "mid.sqlite3")
    try:
        names = {r[0] for r in con.execute("SELECT username FROM app_user")}
    finally:
        con.close()
    assert names == {"tech9"}


def test_restore_refuses_bad_files_and_changes_nothing(sqlite_engine, tmp_path):
    _seed(sqlite_engine)
    before = _state(sqlite_engine)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LimsError, match="junk.sqlite3: not a SQLite database"):
        restore_database(engine=sqlite_engine, actor=ADMIN, source=junk, backup_dir=tmp_path)
    other = tmp_path / "other.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(LimsError, match="not a LIMS database .*alembic_version"):
        restore_database(engine=sqlite_engine, actor=ADMIN, source=other, backup_dir=tmp_path)
    good = tmp_path / "good.sqlite3"
    backup_database(engine=sqlite_engine, actor=ADMIN, out=good)
    data = bytearray(good.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = b"\xff" * 4096
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(bytes(data))
    with pytest.raises(LimsError, match="broken.sqlite3"):
        restore_database(engine=sqlite_engine, actor=ADMIN, source=broken, backup_dir=tmp_path)
    assert _state(sqlite_engine) == before
    with pytest.raises(LimsError, match="file exists"):
        backup_database(engine=sqlite_engine, actor=ADMIN, out=good)


@pytest.mark.parametrize("role", [Role.FIELD_TESTER, Role.LAB_TECHNICIAN, Role.MANAGER])
def test_only_admins_back_up_and_restore(sqlite_engine, tmp_path, role):
    actor = Actor("x", role)
    with pytest.raises(PermissionDenied):
        backup_database(engine=sqlite_engine, actor=actor, out=tmp_path / "x.sqlite3")
    with pytest.raises(PermissionDenied):
        restore_database(engine=sqlite_engine, actor=actor, source=tmp_path / "x.sqlite3",
                         backup_dir=tmp_path)
    assert not (tmp_path / "x.sqlite3").exists()


@pytest.mark.postgres
def test_postgres_without_pg_dump_prints_the_commands(pg_url, tmp_path, monkeypatch):
    engine = _ready_engine(pg_url)
    monkeypatch.setenv("PATH", str(tmp_path))  # no client tools here
    try:
        with pytest.raises(LimsError, match="pg_dump --format=custom --file .*--dbname"):
            backup_database(engine=engine, actor=ADMIN, out=tmp_path / "x.pgdump")
        with pytest.raises(LimsError, match="pg_restore --clean"):
            restore_database(engine=engine, actor=ADMIN, source=Path(__file__),
                             backup_dir=tmp_path)
    finally:
        engine.dispose()


def test_cli_round_trip(env_db, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    out = tmp_path / "cli.sqlite3"
    res = runner.invoke(app, ["backup", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["path"] == str(out)
    engine = sa.create_engine(env_db)
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO market (code, name, county, township, kind) "
                          "VALUES ('MX', 'after', 'c', '', 'farmers')")
    res = runner.invoke(app, ["restore", str(out)], input="n\n")
    assert res.exit_code != 0  # declined: nothing restored
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM market").scalar() == 1
    res = runner.invoke(app, ["restore", str(out), "--yes"])
    assert res.exit_code == 0, res.output
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM market").scalar() == 0
    engine.dispose()
    res = runner.invoke(app, ["backup"])
    assert res.exit_code == 0 and len(list((tmp_path / "var" / "backups").glob("lims-*.sqlite3"))) == 1
    # the chain head to note down elsewhere, and where its copy lies
    (sidecar,) = (tmp_path / "var" / "backups").glob("lims-*.sqlite3.head.json")
    head = json.loads(sidecar.read_text(encoding="utf-8"))
    assert f"audit chain head: {head['event_id']}:{head['hash']}" in res.output
    assert sidecar.name in res.output
