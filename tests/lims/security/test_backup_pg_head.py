"""Issue 18: a PostgreSQL restore checks the dump against the chain head noted beside it."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from lims.errors import LimsError
from lims.models import Market
from lims.security.backup import backup_database, restore_database
from tests.conftest import _ready_engine
from tests.lims.security.test_backup_restore import ADMIN, _seed


@pytest.mark.postgres
def test_postgres_restore_refuses_a_dump_without_the_noted_head(pg_url, tmp_path):
    engine = _ready_engine(pg_url)
    try:
        _seed(engine)
        out = tmp_path / "b.pgdump"
        report = backup_database(engine=engine, actor=ADMIN, out=out)
        sidecar = out.with_name(out.name + ".head.json")
        noted = json.loads(sidecar.read_text(encoding="utf-8"))
        assert noted["backend"] == "postgresql" and noted["event_id"] == report.head["event_id"]
        with Session(engine) as s:   # a change after the backup: a refused restore keeps it
            s.add(Market(code="LATE", name="after the backup", county="c", kind="farmers"))
            s.commit()
        engine.dispose()
        rewritten = {**noted, "hash": "f" * 64}               # the dump's event differs
        truncated = {**noted, "event_id": noted["event_id"] + 5}   # the dump ends earlier
        for bad in (rewritten, truncated):
            sidecar.write_text(json.dumps(bad), encoding="utf-8")
            with pytest.raises(LimsError, match=r"does not hold the head noted .*"
                                                 r"the backup was altered"):
                restore_database(engine=engine, actor=ADMIN, source=out,
                                 backup_dir=tmp_path / "backups")
            with Session(engine) as s:
                assert s.exec(select(Market).where(Market.code == "LATE")).first() is not None
        sidecar.write_text(json.dumps(noted), encoding="utf-8")   # the true head: restored
        restore_database(engine=engine, actor=ADMIN, source=out, backup_dir=tmp_path / "backups")
        with Session(engine) as s:
            assert s.exec(select(Market).where(Market.code == "LATE")).first() is None
    finally:
        engine.dispose()
