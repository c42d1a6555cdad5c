"""Tamper-evident results (issue 18): result seals in the audit chain, and the external head.

Every attack changes the database file (SQLite, with the sqlite3 module) or the tables
(PostgreSQL, with the guards disabled) behind the application's back, as someone with file or
superuser access would; ``lims audit verify`` must name what changed.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from typer.testing import CliRunner

from lims.cli import app
from lims.errors import LimsError
from lims.intake import review
from lims.intake.corrections import correct_result, void_result
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import AuditEvent, Market, TestResult
from lims.models.enums import Role
from lims.security import audit, chainhead, seals
from lims.security.auth import SYSTEM, Actor
from lims.security.backup import backup_database, restore_database
from tests.conftest import TZ, _ready_engine

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)
TECH = Actor("tech1", Role.LAB_TECHNICIAN)
ADMIN = Actor("root1", Role.ADMIN)
#: sample deltas of the five stored readings (control 0.35): 0.10 is positive, the rest negative
DELTAS = (0.30, 0.10, 0.31, 0.32, 0.33)


def _store(session: Session, deltas=DELTAS, start: int = 0) -> list[int]:
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": d},
        tested_at=T0 + timedelta(minutes=start + i), market="M1", commodity="小白菜")
        for i, d in enumerate(deltas)])
    session.commit()
    return [s.result_id for s in rep.stored]


@pytest.fixture
def ids(engine) -> list[int]:
    with Session(engine) as s:
        s.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
        s.commit()
        return _store(s)


def _verify(engine, witness: chainhead.Witness | None = None) -> seals.SealReport:
    with Session(engine) as s:
        report = seals.verify(session=s, witness_check=witness)
    if witness is not None and report.chain_ok:
        for p in witness.problems(report.head_id):
            report.add(p)
    return report


def _tamper(engine, *statements: tuple[str, tuple]) -> None:
    """Run SQL on the database behind the application's back, with every guard trigger off."""
    if engine.dialect.name == "sqlite":
        engine.dispose()
        con = sqlite3.connect(engine.url.database)
        try:
            for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                       ).fetchall():
                con.execute(f"DROP TRIGGER {name}")
            for sql, params in statements:
                con.execute(sql, params)
            con.commit()
        finally:
            con.close()
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE test_result DISABLE TRIGGER USER")
        conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        for sql, params in statements:
            conn.exec_driver_sql(sql.replace("?", "%s"), params)


def _problems(report: seals.SealReport) -> str:
    assert not report.ok
    return "\n".join(report.problems)


def _head(engine) -> chainhead.Witness:
    with engine.connect() as conn:
        event_id, h = chainhead.current_head(conn)
    return chainhead.Witness(event_id, h, "test")


def test_a_clean_database_verifies_and_every_result_is_sealed(engine, ids):
    report = _verify(engine, _head(engine))
    assert report.ok, report.problems
    assert report.results == len(DELTAS) and report.events >= 1
    with Session(engine) as s:
        rows = s.execute(sa.select(TestResult.id, TestResult.seal)).all()
        batch = s.execute(sa.select(AuditEvent.new).where(
            AuditEvent.action == seals.SEAL_ACTION)).scalars().all()
    assert all(seal and len(seal) == 64 for _, seal in rows)
    assert len(batch) == 1   # one event for the batch, its ids as one run
    assert batch[0]["n"] == 5 and batch[0]["ids"] == [[ids[0], ids[-1]]]


@pytest.mark.parametrize(("what", "sql", "params"), [
    ("value", "UPDATE test_result SET raw = ? WHERE id = ?",
     ('{"control_delta": 0.35, "sample_delta": 0.34}',)),
    ("computed value", "UPDATE test_result SET computed_value = 1.5 WHERE id = ?", ()),
    ("verdict", "UPDATE test_result SET verdict = 'negative' WHERE id = ?", ()),
    ("status", "UPDATE test_result SET status = 'voided' WHERE id = ?", ()),
])
def test_an_edited_result_is_named(engine, ids, what, sql, params):
    target = ids[1]   # the positive one
    _tamper(engine, (sql, (*params, target)))
    text = _problems(_verify(engine))
    assert f"result {target}: content does not match its seal (edited)" in text, what


def test_an_edited_result_with_a_matching_seal_breaks_its_batch_digest(engine, ids):
    with Session(engine) as s:
        row = s.execute(sa.select(*seals._CONTENT).where(TestResult.id == ids[1])).one()
    forged = list(row)
    forged[seals.SEALED.index("verdict")] = "negative"
    _tamper(engine, ("UPDATE test_result SET verdict = 'negative', seal = ? WHERE id = ?",
                     (seals.content_hash(forged), ids[1])))
    assert "no longer match its digest" in _problems(_verify(engine))


def test_a_forged_row_is_never_sealed(engine, ids):
    cols = [c["name"] for c in sa.inspect(engine).get_columns("test_result")
            if c["name"] not in ("id", "ingest_key")]
    names = ", ".join(cols)
    _tamper(engine, (f"INSERT INTO test_result ({names}, ingest_key) SELECT {names}, 'forged' "
                     "FROM test_result WHERE id = ?", (ids[0],)))
    with engine.connect() as conn:
        forged = conn.exec_driver_sql("SELECT max(id) FROM test_result").scalar()
    assert f"result {forged}: never sealed in the audit chain" in _problems(_verify(engine))


def test_a_deleted_row_is_missing_from_its_batch(engine, ids):
    _tamper(engine, ("DELETE FROM test_result WHERE id = ?", (ids[2],)))
    assert f"result {ids[2]}: sealed by audit event" in _problems(_verify(engine))
    assert "missing (deleted)" in _problems(_verify(engine))


def _note(engine, n: int, label: str = "note") -> None:
    with Session(engine) as s:
        for i in range(n):
            audit.record(session=s, actor=SYSTEM, action="test.note", entity="note",
                         entity_id=f"{label}{i}")
        s.commit()


def test_a_truncated_tail_fails_against_the_witnessed_head(engine, ids):
    _note(engine, 2)
    head = _head(engine)
    _tamper(engine, ("DELETE FROM audit_event WHERE id > ?", (head.event_id - 2,)))
    assert _verify(engine).ok   # the chain alone still looks intact
    assert "chain TRUNCATED" in _problems(_verify(engine, head))
    only_hash = chainhead.Witness.parse(head.hash)
    assert "is not in the chain" in _problems(_verify(engine, only_hash))


def test_a_consistently_rewritten_suffix_fails_against_the_witnessed_head(engine, ids):
    _note(engine, 2)
    head = _head(engine)
    with Session(engine) as s:
        evs = s.exec(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(2)).scalars().all()
        prev, last = evs[1], evs[0]
        prev.reason, last.reason = "rewritten", "rewritten"
        prev_hash = audit._digest(prev.prev_hash, prev)
        last_hash = audit._digest(prev_hash, last)
        prev_id, last_id = prev.id, last.id
        s.rollback()
    _tamper(engine,
            ("UPDATE audit_event SET reason = 'rewritten', hash = ? WHERE id = ?",
             (prev_hash, prev_id)),
            ("UPDATE audit_event SET reason = 'rewritten', prev_hash = ?, hash = ? WHERE id = ?",
             (prev_hash, last_hash, last_id)))
    assert _verify(engine).ok   # a consistent rewrite: every link and hash matches
    assert f"chain REWRITTEN: event {head.event_id}" in _problems(_verify(engine, head))


def test_correction_void_and_review_keep_it_verifying(engine, ids):
    with Session(engine) as s:
        correct_result(session=s, actor=TECH, result_id=ids[0], raw={"sample_delta": 0.05},
                       reason="typed 0.30 for 0.05")
        void_result(session=s, actor=TECH, result_id=ids[2], reason="sample mislabelled")
        for rid in ids[3:]:   # held by the gate (here set directly, then re-sealed)
            s.get(TestResult, rid).status = "held"
        seals.reseal(s, SYSTEM, ids[3:], reason="held for the test")
        s.commit()
        review.accept(session=s, actor=TECH, result_id=ids[3], reason="QC re-run passed")
        review.void(session=s, actor=TECH, result_id=ids[4], reason="kit spoiled")
        s.commit()
        n = s.execute(sa.select(sa.func.count()).where(
            AuditEvent.action == seals.RESEAL_ACTION)).scalar()
    assert n == 5
    assert _verify(engine, _head(engine)).ok
    # a corrected result edited back to its first content: its seal no longer the last re-seal
    with Session(engine) as s:
        first = s.execute(sa.select(AuditEvent.new).where(
            AuditEvent.action == seals.RESEAL_ACTION)).scalars().first()["seals"][0]
    assert first[0] == ids[0]
    _tamper(engine, ("UPDATE test_result SET raw = ?, verdict = 'negative', seal = ? "
                     "WHERE id = ?", ('{"control_delta": 0.35, "sample_delta": 0.3}', first[1],
                                      ids[0])))
    assert f"result {ids[0]}:" in _problems(_verify(engine))


# ---- the head outside the database (SQLite: the file witness, backups, the CLI) -----------


@pytest.fixture
def configured(env_db):
    """The configured database (LIMS_DATABASE_URL, LIMS_VAR_DIR), seeded."""
    engine = _ready_engine(env_db)
    with Session(engine) as s:
        s.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
        s.commit()
        _store(s)
    yield engine
    engine.dispose()


def _head_file():
    from lims.settings import load_settings

    return load_settings().var_dir / chainhead.HEAD_FILE


def test_the_head_file_follows_every_commit_and_witnesses_truncation(configured):
    noted = chainhead.read_head(_head_file())
    assert (noted["event_id"], noted["hash"]) == (_head(configured).event_id,
                                                  _head(configured).hash)
    _note(configured, 1)
    noted = chainhead.read_head(_head_file())
    assert noted["event_id"] == _head(configured).event_id
    res = CliRunner().invoke(app, ["audit", "verify"])
    assert res.exit_code == 0, res.output
    assert f"head {noted['event_id']}:{noted['hash']}" in res.output
    assert "matches the witnessed head" in res.output
    _tamper(configured, ("DELETE FROM audit_event WHERE id = ?", (noted["event_id"],)))
    _note(configured, 1, "later")   # the app goes on: the file keeps the head the db lost
    assert chainhead.read_head(_head_file())["hash"] == noted["hash"]
    res = CliRunner().invoke(app, ["audit", "verify"])
    assert res.exit_code == 1 and "chain REWRITTEN" in res.output
    res = CliRunner().invoke(app, ["audit", "verify", "--json", "--head",
                                   f"{noted['event_id'] + 5}:{noted['hash']}"])
    data = json.loads(res.stdout)
    assert res.exit_code == 1 and "chain TRUNCATED" in data["problem"]
    assert CliRunner().invoke(app, ["audit", "verify", "--head", "nothex"]).exit_code != 0


def test_every_backup_carries_the_head_and_a_restore_checks_it(configured, tmp_path):
    out = tmp_path / "b" / "one.sqlite3"
    report = backup_database(engine=configured, actor=ADMIN, out=out)
    head = _head(configured)
    assert report.to_dict()["head"]["event_id"] == head.event_id
    assert chainhead.read_head(chainhead.sidecar(out))["hash"] == head.hash
    restored = restore_database(engine=configured, actor=ADMIN, source=out,
                                backup_dir=tmp_path / "b")
    assert restored.head["hash"] == head.hash
    assert chainhead.read_head(_head_file())["event_id"] == _head(configured).event_id
    assert _verify(configured, _head(configured)).ok
    # an altered backup (its chain rewritten) is refused before anything is replaced
    con = sqlite3.connect(out)
    con.execute("DROP TRIGGER audit_event_no_update")
    con.execute("UPDATE audit_event SET hash = ? WHERE id = ?", ("f" * 64, head.event_id))
    con.commit()
    con.close()
    with pytest.raises(LimsError, match="does not hold the head noted"):
        restore_database(engine=configured, actor=ADMIN, source=out, backup_dir=tmp_path / "b")
