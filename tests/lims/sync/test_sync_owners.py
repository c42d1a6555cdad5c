"""`lims sync backfill-owners`: owner rows for results a station uploaded before migration 0027
(the upload then noted no owner), from the tokens that could have uploaded them; audited,
idempotent, refused when two stations could have."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from lims.cli import app as cli
from lims.errors import Conflict, NotFound
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.models import ApiToken, AuditEvent, ResultOwner, TestResult
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from lims.sync.owners import backfill_owners
from tests.conftest import _ready_engine
from tests.lims.api.conftest import T0, seed, token_for


def _upload(s: Session, station: str, i: int, code: str) -> str:
    """A result stored as the readings route stored it before 0027 (no owner row)."""
    rep = accept_readings(session=s, actor=Actor(f"station:{station}", Role.FIELD_TESTER),
                          readings=[ReadingIn(
                              method="ENZ-5009.199", tested_at=T0 + timedelta(minutes=i),
                              market="M1", vendor_stall="A01", commodity="小白菜",
                              sample_code=code, raw={"control_delta": 0.5, "sample_delta": 0.45},
                              source="api", row=i)])
    return s.get(TestResult, rep.stored[0].result_id).ingest_key


def test_backfill_owners_from_the_tokens_audited_idempotent_and_refusing_ambiguity(env_db):
    engine = _ready_engine(env_db)
    seed(engine)
    token_for(engine, station="station-east")
    with Session(engine) as s:
        east = [_upload(s, "station-east", i, f"EAST{i:04d}") for i in range(2)]
        s.commit()
    runner = CliRunner()
    out = runner.invoke(cli, ["sync", "backfill-owners", "--station", "station-east", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"station": "station-east", "created": 2, "others": 0,
                                      "unknown": 0, "dry_run": False}
    again = runner.invoke(cli, ["sync", "backfill-owners", "--station", "station-east",
                                "--json"])
    assert json.loads(again.output)["created"] == 0
    with Session(engine) as s:
        owners = dict(s.exec(select(ResultOwner.ingest_key, ResultOwner.station)).all())
        (ev,) = s.exec(select(AuditEvent).where(AuditEvent.action == "sync.owners_backfill"))
    assert owners == dict.fromkeys(east, "station-east")
    assert (ev.entity_id, ev.new["created"]) == ("station-east", 2)

    # a second station's token was valid too when these arrived: whose are they? refused
    token_for(engine, station="station-west")
    with Session(engine) as s:
        for t in s.exec(select(ApiToken)):
            t.created_at = T0 - timedelta(days=1)
            s.add(t)
        west = _upload(s, "station-west", 5, "WEST0001")
        _upload(s, "station-east", 6, "EAST0009")
        s.commit()
        with pytest.raises(Conflict, match="station-east, station-west.*--sample-prefix"):
            backfill_owners(session=s, actor=SYSTEM, station="station-west")
        assert s.exec(select(ResultOwner).where(ResultOwner.ingest_key == west)).first() is None
        rep = backfill_owners(session=s, actor=SYSTEM, station="station-west",
                              sample_prefix="WEST")
        assert rep.created == 1
        with pytest.raises(NotFound, match="no upload token"):
            backfill_owners(session=s, actor=SYSTEM, station="nowhere")
        s.commit()
        assert s.exec(select(ResultOwner.station).where(ResultOwner.ingest_key == west)
                      ).one() == "station-west"
    engine.dispose()
