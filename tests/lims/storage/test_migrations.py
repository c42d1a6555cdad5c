"""The Alembic migrations produce exactly the models' schema, on both backends."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, select

import lims.models  # noqa: F401
from lims.storage.schema import is_current


def test_migrations_match_models(engine):
    assert is_current(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_one_head():
    """Migrations form one line: a second head means a merge revision is missing."""
    from lims.storage.schema import latest_heads

    assert len(latest_heads()) == 1, latest_heads()


@pytest.fixture
def pg_engine(pg_url):
    from tests.conftest import _ready_engine

    eng = _ready_engine(pg_url)
    yield eng
    eng.dispose()


@pytest.mark.postgres
def test_0035_gives_every_stored_result_its_samples_vendor(pg_engine):
    """Upgrading a database that holds results to 0035 copies each sample's vendor onto its
    results, with the secondary indexes dropped for the update and built again. (PostgreSQL:
    SQLite cannot drop the column again to go back, it has a foreign key; the 10 M bench file
    was checked by hand, docs/performance.md.)"""
    engine = pg_engine
    from alembic import command
    from sqlmodel import Session

    from lims.field.stand import record_field_test
    from lims.models import Market, TestResult, Vendor
    from lims.security.auth import SYSTEM
    from lims.storage.schema import alembic_config, upgrade
    from tests.lims.conftest import T0

    with Session(engine) as s:
        m = Market(code="M1", name="东门市场", county="城关区", kind="farmers")
        s.add(m)
        s.flush()
        v = Vendor(market_id=m.id, stall="A01", name="a", credit_grade="A")
        s.add(v)
        s.flush()
        for stall, resident in (("A01", False), (None, True)):
            record_field_test(session=s, actor=SYSTEM, market="M1", vendor_stall=stall,
                              resident_purchase=resident, commodity="小白菜",
                              card_colour="sky_blue", tested_at=T0)
        s.commit()
        vendor_id = v.id
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0034_release_index")
    upgrade(engine)
    with Session(engine) as s:
        got = sorted(s.exec(select(TestResult.vendor_id)).all(), key=lambda x: x or 0)
    assert got == [None, vendor_id]
    test_migrations_match_models(engine)   # the dropped indexes are all back
