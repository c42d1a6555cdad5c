"""Province-scale aggregation (issue 17): county series, drill-down to markets, top/bottom-N with
the rest as "other", worst-N heatmap rows and the paged vendor table, on constructed data."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import select

from lims.enforcement import grades
from lims.errors import InvalidInput
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Market, Vendor
from lims.reporting import drilldown, stats, vendor_table
from lims.reporting.stats import TrendFilter
from lims.security.auth import SYSTEM
from tests.conftest import TZ

MONDAY = date(2026, 3, 2)
# market code → (county, positives out of 6 per day): distinct pass rates, so the ranking is fixed
MARKETS = {"X1": ("X县", 0), "X2": ("X县", 1), "X3": ("X县", 2), "X4": ("X县", 3),
           "Y1": ("Y县", 6), "Y2": ("Y县", 4), "Y3": ("Y县", 5)}
DAYS = [MONDAY + timedelta(days=d) for d in (0, 3, 8, 12, 16)]   # three ISO weeks
# Wednesday of week 1 to Tuesday of week 3: partial weeks at both edges
PERIOD = TrendFilter(start=MONDAY + timedelta(days=2), end=MONDAY + timedelta(days=15))


@pytest.fixture
def world(session):
    for code, (county, _) in MARKETS.items():
        session.add(Market(code=code, name=f"市场{code}", county=county, kind="farmers"))
    session.flush()
    ids = {m.code: m.id for m in session.exec(select(Market)).all()}
    for code in MARKETS:
        session.add(Vendor(market_id=ids[code], stall="01", name=f"张{code}"))
        session.add(Vendor(market_id=ids[code], stall="02", name="李", credit_grade="D"))
    session.flush()
    readings = []
    for day in DAYS:
        for code, (_, positives) in MARKETS.items():
            for i in range(6):
                readings.append(ReadingIn(
                    method="ENZ-5009.199", market=code, vendor_stall="01" if i % 2 else "02",
                    commodity="芹菜", tested_at=datetime.combine(day, time(8, i), tzinfo=TZ),
                    raw={"control_delta": 0.32, "sample_delta": 0.1 if i < positives else 0.3}))
    accept_readings(session=session, actor=SYSTEM, readings=readings)
    session.commit()
    return ids


def _by_week(rows) -> dict:
    out: dict = defaultdict(lambda: [0, 0])
    for r in rows:
        out[r["week_start"]][0] += r["passed"]
        out[r["week_start"]][1] += r["failed"]
    return dict(out)


def test_county_series_is_the_sum_of_its_markets(session, world):
    county = drilldown.trend(session=session, filters=PERIOD, level="county", n=5)
    assert [s["key"] for s in county.series] == ["Y县", "X县"]     # worst first
    assert county.other_groups == 0
    raw = stats.market_week_rows(session=session, filters=PERIOD)
    assert raw, "constructed data must be in the period"
    of = {mid: MARKETS[code][0] for code, mid in world.items()}
    for s in county.series:
        want: dict = defaultdict(lambda: [0, 0])
        for mid, wk, p, fl in raw:
            if of[mid] == s["key"]:
                want[wk][0] += p
                want[wk][1] += fl
        assert {r["week_start"]: [r["passed"], r["failed"]] for r in s["rows"]} == dict(want)
        # the drill-down into that county: its markets add up to the county's line
        markets = drilldown.trend(session=session, level="market", n=10, filters=TrendFilter(
            county=s["key"], start=PERIOD.start, end=PERIOD.end))
        assert {s2["key"] for s2 in markets.series} == {m for m, c in of.items() if c == s["key"]}
        summed = _by_week(r for s2 in markets.series for r in s2["rows"])
        assert summed == dict(want)
        assert _by_week(markets.total) == dict(want)
    # the edge weeks are partial: 2 of the 5 days fall outside the period
    assert sum(w["tested"] for w in county.total) == 3 * 6 * len(MARKETS)


def test_top_bottom_n_plus_other_is_the_total(session, world):
    tr = drilldown.trend(session=session, filters=PERIOD, level="market", n=2)
    roles = [(s["key"], s["role"]) for s in tr.series]
    ids = world
    assert roles == [(ids["Y1"], "worst"), (ids["Y3"], "worst"), (ids["X2"], "best"),
                     (ids["X1"], "best"), (drilldown.OTHER, "other")]
    assert tr.other_groups == 3
    assert [g["key"] for g in tr.groups] == [ids[c] for c in
                                             ("Y1", "Y3", "Y2", "X4", "X3", "X2", "X1")]
    raw = stats.market_week_rows(session=session, filters=PERIOD)
    total: dict = defaultdict(lambda: [0, 0])
    rest: dict = defaultdict(lambda: [0, 0])
    for mid, wk, p, fl in raw:
        total[wk][0] += p
        total[wk][1] += fl
        if mid in (ids["X3"], ids["X4"], ids["Y2"]):
            rest[wk][0] += p
            rest[wk][1] += fl
    assert _by_week(r for s in tr.series for r in s["rows"]) == dict(total)
    assert _by_week(tr.total) == dict(total)
    assert _by_week(tr.series[-1]["rows"]) == dict(rest)
    assert tr.series[0]["name"] == "市场Y1"


def test_county_level_and_bad_level(session, world):
    tr = drilldown.trend(session=session, filters=PERIOD, level="county", n=1)
    # two counties, n = 1: both are lines, nothing is summed as "other"
    assert [(s["key"], s["role"]) for s in tr.series] == [("Y县", "shown"), ("X县", "shown")]
    assert tr.other_groups == 0
    with pytest.raises(InvalidInput):
        drilldown.trend(session=session, filters=PERIOD, level="vendor")


def test_heatmap_rows_are_the_worst_markets(session, world):
    cells = drilldown.heatmap_rows(session=session, filters=PERIOD, level="market", limit=3)
    assert {c["key"] for c in cells} == {world["Y1"], world["Y3"], world["Y2"]}
    assert len(cells) == 3 * 2   # three markets × the two weeks with results in the period
    counties = drilldown.heatmap_rows(session=session, filters=PERIOD, level="county")
    assert {c["name"] for c in counties} == {"X县", "Y县"}


def test_commodity_filter_takes_the_same_answer_from_the_results(session, world):
    from lims.models import Commodity

    celery = session.exec(select(Commodity).where(Commodity.name_zh == "芹菜")).one().id
    f = TrendFilter(start=PERIOD.start, end=PERIOD.end, commodity_ids=(celery,))
    a = drilldown.trend(session=session, filters=f, level="county", n=5)
    b = drilldown.trend(session=session, filters=PERIOD, level="county", n=5)
    assert _by_week(a.total) == _by_week(b.total)


def test_vendor_pages_search_and_csv_rows(session, world):
    on = DAYS[-1]
    q = vendor_table.VendorQuery()
    assert vendor_table.count(session=session, query=q) == 2 * len(MARKETS)
    first = vendor_table.page(session=session, query=q, offset=0, limit=5, on=on)
    second = vendor_table.page(session=session, query=q, offset=5, limit=5, on=on)
    seen = [r["grade"] for r in first + second]
    assert seen == sorted(seen, reverse=True)            # grade D first
    everything = list(vendor_table.iter_all(session=session, query=q, on=on, chunk=4))
    assert len(everything) == 2 * len(MARKETS)
    by_id = {r["vendor_id"]: r for r in everything}
    assert all(by_id[r["vendor_id"]] == r for r in first + second)
    plan = {p.vendor_id: p for p in grades.sampling_plan(session=session, on=on)}
    assert plan and all(plan[v].tested_this_month == r["tested_this_month"]
                        and plan[v].due == r["due"] for v, r in by_id.items())
    assert sum(r["tested_this_month"] for r in everything) > 0
    found = vendor_table.page(session=session, query=vendor_table.VendorQuery(search="张X3"),
                              on=on)
    assert [r["name"] for r in found] == ["张X3"]
    assert vendor_table.count(session=session, query=vendor_table.VendorQuery(
        county="Y县", search="%")) == 0                 # % is a character, not a wildcard
    with pytest.raises(InvalidInput):
        vendor_table.page(session=session, query=q, limit=10_000)


def test_grade_changes_and_data_version(session, world):
    assert vendor_table.grade_changes({("B", "A"): 3, ("A", "D"): 1, ("C", "C"): 2}) == {
        "A": 2, "B": -3, "D": 1}
    before = drilldown.data_version(session=session)
    accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", market="X1", vendor_stall="01", commodity="芹菜",
        tested_at=datetime.combine(DAYS[-1], time(12), tzinfo=TZ),
        raw={"control_delta": 0.32, "sample_delta": 0.3})])
    assert drilldown.data_version(session=session) != before
