"""`lims results import-staged`: the rows of an import stopped part-way are listed, and
discarded (voided, with a reason) or left for the same file to complete (issue 18)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import Session

from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.security.auth import SYSTEM
from lims.storage.engine import make_engine

SHA = "a" * 64


def _stage(url: str, n: int) -> None:
    """``n`` results of an import that stopped before its publish."""
    engine = make_engine(url)
    at = datetime.fromisoformat("2026-05-06T09:00:00+08:00")
    readings = [ReadingIn(method="ENZ-5009.199", tested_at=at + timedelta(minutes=i),
                          market="T-F01", vendor_stall="A01", commodity="小白菜",
                          raw={"control_delta": 0.45, "sample_delta": 0.40}, source="import",
                          row=i + 2) for i in range(n)]
    with Session(engine) as s:
        accept_readings(session=s, actor=SYSTEM, readings=readings, stage=SHA)
        s.commit()
    engine.dispose()


def test_list_then_discard_with_a_reason(places, env_db):
    empty = places("results", "import-staged", "list", "--json")
    assert empty.exit_code == 0 and json.loads(empty.output) == {"imports": []}
    _stage(env_db, 3)
    listed = json.loads(places("results", "import-staged", "list", "--json").output)
    assert listed == {"imports": [{"import_sha": SHA, "phase": "staged", "results": 3}]}
    no_reason = places("results", "import-staged", "discard", "--sha", SHA)
    assert no_reason.exit_code != 0 and "reason" in no_reason.output
    done = places("results", "import-staged", "discard", "--sha", SHA, "--reason",
                  "wrong market sheet", "--json")
    assert done.exit_code == 0 and json.loads(done.output) == {"voided": 3}
    assert json.loads(places("results", "import-staged", "list", "--json").output) == {
        "imports": []}
    bad = places("results", "import-staged", "publish")
    assert bad.exit_code == 2 and "list, finish or discard" in bad.output
