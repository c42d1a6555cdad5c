"""Monthly partitioning of test_result on PostgreSQL keeps the data, the services and the rules."""

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from lims.intake import rollups
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Market, TestResult
from lims.reporting import stats
from lims.security.auth import SYSTEM
from lims.storage import partition
from tests.conftest import TZ

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 20, 9, tzinfo=TZ)


def reading(i, days):
    return ReadingIn(method="ENZ-5009.199", commodity="小白菜", market="P1",
                     raw={"control_delta": 0.45, "sample_delta": 0.45 - 0.005 * (i % 50)},
                     tested_at=T0 + timedelta(days=days), ingest_key=f"p-{i}")


@pytest.fixture
def pg_engine(pg_url):
    from tests.conftest import _ready_engine

    eng = _ready_engine(pg_url)
    with Session(eng) as s:
        s.add(Market(code="P1", name="分区市场", county="测试县", kind="farmers"))
        s.commit()
        accept_readings(session=s, actor=SYSTEM, readings=[reading(i, (i * 7) % 120) for i in range(60)])
        s.commit()
    yield eng
    eng.dispose()


def snapshot(eng):
    with Session(eng) as s:
        rows = stats.pass_rate_by_market_week(session=s, filters=stats.TrendFilter())
        n = s.exec(select(sa.func.count()).select_from(TestResult)).one()
    return n, [(r["market_id"], r["week_start"], r["passed"], r["failed"]) for r in rows]


def triggers(eng):
    with eng.connect() as c:
        return set(c.execute(sa.text("SELECT tgname FROM pg_trigger WHERE "
                                     "tgrelid = 'test_result'::regclass AND NOT tgisinternal")
                             ).scalars())


def test_partition_keeps_data_and_rules(pg_engine):
    before = snapshot(pg_engine)
    guards = triggers(pg_engine)
    p = partition.apply(pg_engine, months_ahead=2, today=date(2026, 5, 1))
    assert not p.partitioned and "test_result_y2026m01" in p.months
    assert any("retest_of_id" in fk or "test_result" in fk for fk in p.dropped_foreign_keys)
    with pg_engine.connect() as c:
        assert partition.is_partitioned(c)
        per_part = dict(c.execute(sa.text(
            "SELECT tableoid::regclass::text, count(*) FROM test_result GROUP BY 1")).all())
    assert sum(per_part.values()) == before[0] and len(per_part) >= 4
    assert snapshot(pg_engine) == before
    assert triggers(pg_engine) == guards  # e.g. the refusal to delete results
    with Session(pg_engine) as s:
        rep = accept_readings(session=s, actor=SYSTEM, readings=[reading(1, 7), reading(500, 3)])  # one old, one new
        s.commit()
        assert [x.duplicate for x in rep.stored] == [True, False]
        assert rollups.check(session=s) == []
        with pytest.raises(sa.exc.IntegrityError):  # idempotency still enforced by the database
            s.connection().execute(sa.text(
                "INSERT INTO test_result SELECT * FROM test_result WHERE ingest_key = 'p-2'"))
        s.rollback()


def test_partition_again_only_adds_months(pg_engine):
    partition.apply(pg_engine, months_ahead=1, today=date(2026, 5, 1))
    p = partition.apply(pg_engine, months_ahead=3, today=date(2026, 5, 1))
    assert p.partitioned and p.months == ["test_result_y2026m07", "test_result_y2026m08"]
    with pg_engine.connect() as c:
        assert partition.plan(c, months_ahead=3, today=date(2026, 5, 1)).statements == []


def test_sqlite_is_refused(sqlite_engine):
    with sqlite_engine.connect() as c, pytest.raises(Exception, match="PostgreSQL"):
        partition.plan(c)
