"""Sampling coverage against the grade plan (issue 19), on a small hand-counted world."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlmodel import select

from lims.errors import InvalidInput
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import GridGroup, Market, Vendor
from lims.reporting import coverage
from lims.security.auth import SYSTEM
from tests.conftest import TZ

# stall → grade (set after the results came in: the pipeline re-grades vendors as they arrive)
GRADES = {"V1": "A", "V2": "D", "V3": "B", "V4": "C", "V5": "D", "V6": "A"}
# (market, stall or None, day): every sample passes
SAMPLES = [("M1", "V1", 2), ("M1", "V2", 3), ("M1", "V2", 4), ("M1", "V2", 10),
           ("M3", "V4", 2), ("M3", "V4", 2), ("M3", "V4", 16), ("M3", "V4", 16), ("M3", "V4", 16),
           ("M3", "V5", 5),             # V5 closes afterwards: its sample is no stall's any more
           ("M2", None, 11),            # market-level sample: M2 tested, no stall
           ("M4", "V6", 20), ("M4", "V6", 20)]
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def world(session):
    g = GridGroup(name="G1", county="X县", staff=[])
    session.add(g)
    session.flush()
    ms = {c: Market(code=c, name=f"{c}市场", county=cty, kind="farmers", grid_group_id=gid,
                    active=c != "M5")
          for c, cty, gid in (("M1", "X县", g.id), ("M2", "X县", g.id), ("M3", "X县", None),
                              ("M4", "Y县", None), ("M5", "Y县", None))}
    session.add_all(ms.values())
    session.flush()
    homes = {"V1": "M1", "V2": "M1", "V3": "M2", "V4": "M3", "V5": "M3", "V6": "M4"}
    session.add_all([Vendor(market_id=ms[m].id, stall=v) for v, m in homes.items()])
    session.add(Vendor(market_id=ms["M5"].id, stall="V7", credit_grade="D"))  # closed market
    session.flush()
    readings = [ReadingIn(method="ENZ-5009.199", market=m, vendor_stall=v, commodity="芹菜",
                          tested_at=datetime.combine(date(2026, 3, d), time(8, i), tzinfo=TZ),
                          raw={"control_delta": 0.32, "sample_delta": 0.3})
                for i, (m, v, d) in enumerate(SAMPLES)]
    # the week before March: outside every period asked below
    readings.append(ReadingIn(method="ENZ-5009.199", market="M1", vendor_stall="V2",
                              commodity="芹菜", raw={"control_delta": 0.32, "sample_delta": 0.3},
                              tested_at=datetime.combine(date(2026, 2, 27), time(9), tzinfo=TZ)))
    accept_readings(session=session, actor=SYSTEM, readings=readings)
    for v in session.exec(select(Vendor).where(Vendor.stall.in_(list(GRADES)))):
        v.credit_grade = GRADES[v.stall]
        v.active = v.stall != "V5"
        session.add(v)
    session.commit()
    return {"markets": ms, "group": g}


def _figures(r: coverage.CoverageRow) -> tuple:
    return (r.markets, r.markets_tested, r.stalls, r.stalls_tested, r.stalls_on_plan,
            round(r.planned, 6), r.taken, round(r.toward_plan, 6))


def test_month_by_county(session, world):
    rows = coverage.coverage(session=session, period="month", start=date(2026, 3, 5),
                             end=date(2026, 3, 20), group="county")
    assert [(r.start, r.end, r.key) for r in rows] == [(*MARCH, "X县"), (*MARCH, "Y县")]
    x, y = rows
    # X: markets M1 M2 M3, tested all three (M2 by its market-level sample); stalls V1 V2 V3 V4
    # (V5 closed), tested V1 V2 V4; plan A1 + D8 + B2 + C4 = 15; samples 1 + 3 + 5 = 9; toward
    # the plan min(1,1) + min(3,8) + min(5,4) = 8; on plan V1 and V4
    assert _figures(x) == (3, 3, 4, 3, 2, 15.0, 9, 8.0)
    assert x.plan_share == pytest.approx(8 / 15) and x.stall_share == pytest.approx(3 / 4)
    assert x.market_share == 1.0 and not x.partial
    # Y: M4 (M5 closed), V6 (A) sampled twice: plan 1, toward 1
    assert _figures(y) == (1, 1, 1, 1, 1, 1.0, 2, 1.0)


def test_month_by_grid_group(session, world):
    rows = coverage.coverage(session=session, period="month", start=MARCH[0], end=MARCH[1],
                             group="grid_group")
    by_key = {r.key: r for r in rows}
    assert set(by_key) == {world["group"].id, None}
    g1 = by_key[world["group"].id]
    assert g1.name == "G1"
    # G1: M1 M2 tested both; V1 V2 V3, plan 1 + 8 + 2 = 11; samples 1 + 3; toward 1 + 3
    assert _figures(g1) == (2, 2, 3, 2, 1, 11.0, 4, 4.0)
    # no group: M3 M4; V4 (C) 5 samples, V6 (A) 2 samples; plan 4 + 1; toward 4 + 1
    assert _figures(by_key[None]) == (2, 2, 2, 2, 2, 5.0, 7, 5.0)
    (total,) = coverage.totals(rows)
    assert _figures(total) == (4, 4, 5, 4, 3, 16.0, 11, 9.0)


def test_weeks_ask_twelve_fifty_seconds_of_the_month(session, world):
    rows = coverage.coverage(session=session, period="week", start=date(2026, 3, 2),
                             end=date(2026, 3, 22), county="X县")
    assert [r.start for r in rows] == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    w1, w2, w3 = rows
    # plan per week: A 12/52, B 24/52, C 48/52, D 96/52; X asks 15 × 12/52 = 180/52
    assert w1.planned == pytest.approx(180 / 52)
    # week 1: V1 once (≥ 12/52), V2 twice (≥ 96/52), V4 twice (≥ 48/52): all on plan;
    # toward = 12/52 + 96/52 + 48/52 = 3
    assert _figures(w1)[:5] == (3, 2, 4, 3, 3) and w1.taken == 5
    assert w1.toward_plan == pytest.approx(3.0)
    # week 2: V2 once (< 96/52) at M1, and M2's market-level sample
    assert _figures(w2)[:5] == (3, 2, 4, 1, 0) and w2.taken == 1
    assert w2.toward_plan == pytest.approx(1.0)
    # week 3: V4 three times, toward its 48/52
    assert _figures(w3)[:5] == (3, 1, 4, 1, 1) and w3.taken == 3
    assert w3.toward_plan == pytest.approx(48 / 52)


def test_market_lists_are_chunked(session, world, monkeypatch):
    monkeypatch.setattr(coverage, "CHUNK", 1)
    ms = world["markets"]
    (x,) = coverage.coverage(session=session, period="month", start=MARCH[0], end=MARCH[1],
                             market_ids=(ms["M1"].id, ms["M3"].id))
    # M1 + M3: V1 V2 V4, plan 1 + 8 + 4 = 13, samples 9, toward 8, on plan V1 V4
    assert _figures(x) == (2, 2, 3, 3, 2, 13.0, 9, 8.0)


def test_bad_arguments_are_refused(session):
    with pytest.raises(InvalidInput, match="period"):
        coverage.coverage(session=session, period="year", start=MARCH[0], end=MARCH[1])
    with pytest.raises(InvalidInput, match="group"):
        coverage.coverage(session=session, start=MARCH[0], end=MARCH[1], group="market")
    with pytest.raises(InvalidInput, match="before"):
        coverage.periods("month", MARCH[1], MARCH[0])


class _Used(dict):
    """Labels that answer with their key and remember which were asked for."""

    def __init__(self):
        super().__init__()
        self.used: set[str] = set()

    def __missing__(self, key):
        self.used.add(key)
        return "{n} {within} {share} {worst} {target}" if key == "alerts_line" else key


def test_monthly_report_has_coverage_and_weighted_rates(session, world):
    from lims.reporting import monthly_report

    d = monthly_report.gather(session=session, month=date(2026, 3, 1))
    county = {r.key: _figures(r) for r in d.coverage if r.group == "county"}
    assert county == {"X县": (3, 3, 4, 3, 2, 15.0, 9, 8.0), "Y县": (1, 1, 1, 1, 1, 1.0, 2, 1.0)}
    grid = {r.key: _figures(r)[:2] for r in d.coverage if r.group == "grid_group"}
    assert grid == {world["group"].id: (2, 2), None: (2, 2)}
    # every sample passed: raw and weighted 100 %; M2 has only a sample bound to no stall, so
    # its one (B) stall has no data and there is no weighted rate
    weighted = {r.market: r.weighted for r in d.weighted}
    assert set(weighted) == {"M1市场", "M2市场", "M3市场", "M4市场"}
    assert weighted["M1市场"].rate == 1.0 and weighted["M1市场"].status == "ok"
    assert weighted["M2市场"].status == "no_data" and weighted["M2市场"].missing == ("B",)
    labels = _Used()
    pdf = monthly_report.render_pdf(d, labels, lang="en")
    assert pdf[:5] == b"%PDF-"
    assert {"coverage", "coverage_explain", "plan_share", "no_grid", "weighted",
            "weighted_rate", "weighted_no_data"} <= labels.used
