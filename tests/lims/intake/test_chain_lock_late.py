"""A batch takes the audit chain's lock only for its last step (rollups and audit events), so on
PostgreSQL another writer can append to the chain while the batch is still following up.

Before, the batch's seal event took the lock right after the results' insert and held it through
the whole follow-up to commit: every other writer of the chain (another station's upload, a
technician's correction) waited that long (docs/performance.md, "Where a batch's writes go").
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import AuditEvent, Market, Vendor
from lims.models.enums import Role
from lims.security import audit
from lims.security.auth import SYSTEM, Actor
from tests.conftest import TZ

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=TZ)


@pytest.fixture
def pg_engine(pg_url):
    from tests.conftest import _ready_engine

    eng = _ready_engine(pg_url)
    with Session(eng) as s:
        m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
        s.add(m)
        s.flush()
        s.add(Vendor(market_id=m.id, stall="A01", name="张三"))
        s.commit()
    yield eng
    eng.dispose()


@pytest.mark.postgres
def test_another_writer_appends_to_the_chain_during_a_batchs_follow_up(pg_engine, monkeypatch):
    import lims.enforcement.followup as followup

    engine = pg_engine
    seen: dict[str, object] = {}
    regrade = followup.regrade_vendors_of

    def other_writer_then_regrade(**kw):
        # the batch (results stored, sealed, followed up in part) is uncommitted here; a
        # technician's change in another transaction must not wait for it
        with Session(engine) as other:
            other.execute(sa.text("SET LOCAL lock_timeout = '3s'"))
            try:
                audit.record(session=other, actor=Actor("tech1", Role.LAB_TECHNICIAN),
                             action="method.edit", entity="method", entity_id="ENZ-5009.199",
                             new={"note": "edited while a batch was being stored"})
                other.commit()
                seen["other"] = "committed"
            except sa.exc.OperationalError as exc:   # lock_timeout: it waited for the batch
                seen["other"] = f"blocked: {exc.orig}"
        return regrade(**kw)

    monkeypatch.setattr(followup, "regrade_vendors_of", other_writer_then_regrade)
    readings = [ReadingIn(method="ENZ-5009.199",
                          raw={"control_delta": 0.4, "sample_delta": 0.05 + 0.1 * i},
                          tested_at=T0 + timedelta(minutes=i), market="M1", vendor_stall="A01",
                          commodity="小白菜", tested_by="laptop1") for i in range(4)]
    with Session(engine) as s:
        rep = accept_readings(session=s, actor=SYSTEM, readings=readings)
        s.commit()

    assert seen["other"] == "committed"
    assert rep.created == 4
    with Session(engine) as s:
        assert audit.verify(session=s).ok
        actions = list(s.exec(select(AuditEvent.action).order_by(AuditEvent.id)))
    # the other writer's event went in first; the batch's seal event after it, at the batch's end
    assert "result.seal" in actions
    assert actions.index("method.edit") < actions.index("result.seal")
