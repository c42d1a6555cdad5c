"""A batch from many markets reads their stalls at once, not one query per market (the API
loads the reference data per request, so a province-wide upload paid one query per market)."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from lims.errors import ValidationFailed
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Market, Vendor
from lims.reference.lookup import RefCache
from lims.security.auth import SYSTEM
from tests.conftest import TZ

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)


@pytest.fixture
def markets(session):
    ms = [Market(code=f"M{i:02d}", name=f"市场{i}", county="城关区", kind="farmers")
          for i in range(30)]
    session.add_all(ms)
    session.flush()
    session.add_all([Vendor(market_id=m.id, stall=f"A{k}", name=f"摊主{k}")
                     for m in ms for k in range(3)])
    session.commit()
    return ms


def _reading(i, market, stall="A1"):
    return ReadingIn(method="ENZ-5009.199", tested_at=T0 + timedelta(seconds=i), market=market,
                     vendor_stall=stall, commodity="小白菜", ingest_key=f"stall-{i}",
                     raw={"control_delta": 0.5, "sample_delta": 0.4})


def _vendor_selects(session, fn):
    seen = []

    def count(conn, cursor, statement, params, context, executemany):
        s = " ".join(statement.split()).lower()
        if s.startswith("select") and " from vendor where vendor.market_id" in s:
            seen.append(s)
    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return seen


def test_stalls_of_thirty_markets_come_in_one_query(session, markets):
    cache = RefCache.load(session)
    readings = [_reading(i, m.code) for i, m in enumerate(markets)]
    seen = _vendor_selects(session, lambda: accept_readings(
        session=session, actor=SYSTEM, readings=readings, cache=cache))
    session.commit()
    assert len(seen) == 1, seen
    # and the markets are known to the cache from then on: a second batch asks nothing
    again = [_reading(100 + i, m.code, "A2") for i, m in enumerate(markets)]
    assert _vendor_selects(session, lambda: accept_readings(
        session=session, actor=SYSTEM, readings=again, cache=cache)) == []


def test_an_unknown_stall_is_still_named_with_its_market(session, markets):
    readings = [_reading(0, "M01"), _reading(1, "M02", "Z9"), _reading(2, "NOWHERE")]
    with pytest.raises(ValidationFailed) as e:
        accept_readings(session=session, actor=SYSTEM, readings=readings)
    found = {(x.row, x.field): x.message for x in e.value.errors}
    assert "unknown vendor stall 'Z9' in market M02" in found[(2, "vendor_stall")]
    assert "unknown market 'NOWHERE'" in found[(3, "market")]
