"""A rebuild writes each rollup's rows in time order (PostgreSQL keeps rows where they were
inserted): a period's rows share pages, as when the intake creates them period by period."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from lims.intake import rollups
from lims.intake.rollup_rebuild import rebuild_in_slices
from tests.lims.intake.test_rollup_rebuild import _seed

PERIOD = {"rollup_market_week": "week_start", "rollup_market_day": "local_date",
          "rollup_county_item_week": "week_start", "rollup_item_week": "week_start",
          "rollup_vendor_week": "week_start", "rollup_vendor_month": "month_start"}


def _out_of_order(conn: sa.Connection) -> dict[str, int]:
    """Per rollup: how often a row's period is earlier than the one stored before it."""
    out = {}
    for name, col in PERIOD.items():
        periods = conn.execute(sa.text(f"SELECT {col} FROM {name} ORDER BY ctid")).scalars().all()
        assert len(periods) > 5, name
        out[name] = sum(b < a for a, b in zip(periods, periods[1:], strict=False))
    return out


@pytest.mark.postgres
def test_rebuilds_write_rollups_in_time_order(pg_url):
    from tests.conftest import _ready_engine

    engine = _ready_engine(pg_url)
    try:
        with Session(engine) as s:
            _seed(s, 160, 21)   # ~110 days over 3 markets, in random order of time
        with Session(engine) as s:
            rollups.rebuild(session=s, recount=False)
            s.commit()
        with engine.connect() as conn:
            assert _out_of_order(conn) == dict.fromkeys(PERIOD, 0)
        rebuild_in_slices(engine=engine, weeks_per_slice=3)
        with engine.connect() as conn:
            assert _out_of_order(conn) == dict.fromkeys(PERIOD, 0)
        with Session(engine) as s:
            assert rollups.check(session=s) == []
    finally:
        engine.dispose()
