"""Issue 18 (low): `lims instruments add` and `lims rollups rebuild` leave an audit event."""

from __future__ import annotations

from sqlmodel import Session, select

from lims.models import AuditEvent
from lims.security import audit
from lims.storage.engine import make_engine
from tests.lims.cli.conftest import lims  # noqa: F401  (fixture)


def _events(url: str, action: str) -> list[AuditEvent]:
    engine = make_engine(url)
    with Session(engine) as s:
        out = list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))
        assert audit.verify(session=s).ok
    engine.dispose()
    return out


def test_instruments_add_is_audited(lims, env_db):  # noqa: F811
    r = lims("instruments", "add", "--serial", "RP12-NEW", "--driver", "profile",
             "--profile", "enzyme-12ch", "--model", "RP-12")
    assert r.exit_code == 0, r.output
    (ev,) = _events(env_db, "instrument.create")
    assert ev.entity == "instrument" and ev.entity_id == "RP12-NEW"
    assert ev.new["driver"] == "profile" and ev.new["profile"] == "enzyme-12ch"


def test_rollups_rebuild_is_audited(lims, env_db):  # noqa: F811
    r = lims("rollups", "rebuild", "--json")
    assert r.exit_code == 0, r.output
    (ev,) = _events(env_db, "rollups.rebuild")
    assert ev.entity == "rollups" and ev.new and all(isinstance(n, int) for n in ev.new.values())
