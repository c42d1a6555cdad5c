"""The rollups stay equal to a fresh aggregation, on SQLite and PostgreSQL.

Results are never deleted (the database refuses it; a void is the delete), so corrections
cover status, verdict, market, commodity and date changes.

Expected values are computed here in plain Python from the stored TestResult rows, independently
of the SQL that maintains the rollups.
"""

import random
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from lims.intake import rollups, vendor_rollups
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import CalibrationRecord, Instrument, Market, TestResult, Vendor
from lims.reporting import stats
from lims.security.auth import SYSTEM
from lims.verdicts import Outcome
from tests.conftest import TZ

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # a Monday
COUNTED = {"recorded", "accepted"}


@pytest.fixture
def world(session):
    for code, county in (("M1", "东城区"), ("M2", "东城区"), ("M3", "西城区")):
        session.add(Market(code=code, name=f"{code} 市场", county=county, kind="farmers"))
    add_stalls(session)
    inst = Instrument(serial_no="SN-OK", model="RP", kind="pesticide_analyzer", driver="profile")
    lapsed = Instrument(serial_no="SN-OLD", model="RP", kind="pesticide_analyzer",
                        driver="profile")
    session.add_all([inst, lapsed])
    session.flush()
    session.add(CalibrationRecord(instrument_id=inst.id, kind="verification",
                                  performed_at=T0 - timedelta(days=30), performed_by="tech",
                                  outcome="pass", due_date=date(2027, 1, 1)))
    session.commit()
    return session


STALLS = ("S1", "S2")


def add_stalls(session):
    """Stalls S1, S2 in every market (readings() binds some samples to them)."""
    session.flush()
    session.add_all([Vendor(market_id=m.id, stall=st) for m in session.exec(select(Market))
                     for st in STALLS])


def readings(n, seed, *, start=T0, days=40):
    rnd = random.Random(seed)
    stall = random.Random(seed + 1000)   # its own sequence: the readings stay as they were
    out = []
    for i in range(n):
        at = start + timedelta(days=rnd.randrange(days), hours=rnd.randrange(-12, 14))
        market = rnd.choice(["M1", "M2", "M3", None])
        kind = rnd.random()
        common = {"tested_at": at, "market": market, "resident_purchase": market is None,
                  "event_id": None, "ingest_key": f"k{seed}-{i}",
                  "instrument_serial": rnd.choice(["SN-OK", "SN-OK", "SN-OLD", None])}
        if kind < 0.5:
            a0 = rnd.choice([0.2, 0.35, 0.5])
            out.append(ReadingIn(method="ENZ-5009.199", commodity=rnd.choice(["小白菜", "芹菜"]),
                                 raw={"control_delta": a0, "sample_delta": a0 * rnd.random()},
                                 **common))
        elif kind < 0.8:
            out.append(ReadingIn(method="KJ-GOLD-CBF", commodity="韭菜",
                                 raw={"t": rnd.uniform(0, 2), "c": rnd.choice([0.0, 1.0])},
                                 **common))
        else:
            out.append(ReadingIn(method="LAB-GCMS", commodity="芹菜",
                                 analyte=rnd.choice(["毒死蜱", "乙酰甲胺磷"]),
                                 raw={"value": rnd.uniform(0, 0.1)}, **common))
    for r in out:  # resident purchases need an event or the flag; use the flag
        if r.market is None:
            r.resident_purchase = True
        else:   # two in three samples are bound to a stall (the vendor rollups count them)
            r.vendor_stall = stall.choice([*STALLS, None])
    return out


def expected_market_week(session, *, start=None, end=None, county=None):
    county_of = {m.id: m.county for m in session.exec(select(Market))}
    acc = defaultdict(lambda: [0, 0])
    for tr in session.exec(select(TestResult)):
        if tr.status not in COUNTED:
            continue
        if start and tr.local_date < start or end and tr.local_date > end:
            continue
        if county and county_of.get(tr.market_id) != county:
            continue
        passes = Outcome(tr.verdict).passes
        cell = acc[(tr.market_id, tr.week_start)]
        if passes is True:
            cell[0] += 1
        elif passes is False:
            cell[1] += 1
    return {k: tuple(v) for k, v in acc.items()}


def actual_market_week(session, **kw):
    rows = stats.pass_rate_by_market_week(session=session, filters=stats.TrendFilter(**kw))
    return {(r["market_id"], r["week_start"]): (r["passed"], r["failed"]) for r in rows}


def assert_exact(session):
    assert rollups.check(session=session) == []
    vendor_rows = sum(session.connection().execute(sa.select(sa.func.count()).select_from(t))
                      .scalar_one() for t in vendor_rollups.TABLES.values())
    assert vendor_rows > 0      # the check covered the vendor rollups too
    assert actual_market_week(session) == expected_market_week(session)
    for start, end in [(date(2026, 3, 4), date(2026, 3, 26)), (date(2026, 3, 9), None),
                       (None, date(2026, 3, 18)), (date(2026, 3, 10), date(2026, 3, 12)),
                       (date(2026, 3, 9), date(2026, 3, 22))]:
        assert actual_market_week(session, start=start, end=end) == \
            expected_market_week(session, start=start, end=end), (start, end)
    assert actual_market_week(session, county="东城区", start=date(2026, 3, 3)) == \
        expected_market_week(session, county="东城区", start=date(2026, 3, 3))


def test_rollups_follow_inserts(world):
    s = world
    accept_readings(session=s, actor=SYSTEM, readings=readings(150, 1))
    s.commit()
    assert_exact(s)
    assert s.exec(select(TestResult).where(TestResult.status == "held")).first() is not None
    accept_readings(session=s, actor=SYSTEM, readings=readings(80, 2))  # more rows into the same groups
    s.commit()
    assert_exact(s)


def test_late_result_for_an_old_week(world):
    s = world
    accept_readings(session=s, actor=SYSTEM, readings=readings(60, 3))
    s.commit()
    old = readings(5, 4, start=T0 - timedelta(days=400), days=3)
    accept_readings(session=s, actor=SYSTEM, readings=old)
    s.commit()
    assert_exact(s)
    weeks = {tr.week_start for tr in s.exec(select(TestResult))}
    assert min(weeks) < date(2025, 3, 1)


def test_corrections_through_refresh(world):
    s = world
    accept_readings(session=s, actor=SYSTEM, readings=readings(120, 5))
    s.commit()
    rows = list(s.exec(select(TestResult).order_by(TestResult.id)))
    held = [r for r in rows if r.status == "held"][:3]
    recorded = [r for r in rows if r.status == "recorded"]
    changed = held + recorded[:6]
    before = rollups.keys_of(changed)
    for r in held:                       # a technician accepts held results
        r.status = "accepted"
    recorded[0].status = "voided"        # a void
    recorded[1].verdict = "positive" if recorded[1].verdict != "positive" else "negative"
    recorded[2].market_id = s.exec(select(Market.id).where(Market.code == "M3")).one()
    moved = recorded[3]                  # a corrected test date, into another week
    moved.local_date = moved.local_date - timedelta(days=21)
    moved.week_start = moved.week_start - timedelta(days=21)
    recorded[4].commodity_id = recorded[5].commodity_id
    s.add_all(changed)
    s.flush()
    assert rollups.check(session=s) != []     # stale until refreshed: the check can fail
    rollups.refresh(session=s, keys=before | rollups.keys_of(changed))
    s.commit()
    assert_exact(s)


def test_rebuild_equals_incremental(world):
    s = world
    accept_readings(session=s, actor=SYSTEM, readings=readings(100, 7))
    s.commit()
    before = {name: sorted(map(tuple, s.connection().execute(
        rollups._TABLES[name].select()).all())) for name in rollups._TABLES}
    rollups.rebuild(session=s)
    s.commit()
    after = {name: sorted(map(tuple, s.connection().execute(
        rollups._TABLES[name].select()).all())) for name in rollups._TABLES}
    assert before == after and before["rollup_market_week"]


def test_breakdown_matches_the_results(world):
    s = world
    accept_readings(session=s, actor=SYSTEM, readings=readings(150, 8))
    s.commit()
    start, end = date(2026, 3, 5), date(2026, 3, 24)   # whole weeks: Mar 2 .. Mar 29
    county_of = {m.id: m.county for m in s.exec(select(Market))}
    for county in (None, "东城区"):
        want = defaultdict(lambda: [0, 0, 0])
        for tr in s.exec(select(TestResult)):
            if tr.status not in COUNTED or not date(2026, 3, 2) <= tr.week_start <= end:
                continue
            if county and county_of.get(tr.market_id) != county:
                continue
            p = Outcome(tr.verdict).passes
            want[(tr.commodity_id, tr.analyte_id)][0 if p else 1 if p is False else 2] += 1
        got = stats.commodity_analyte_breakdown(
            session=s, filters=stats.TrendFilter(county=county, start=start, end=end))
        assert {(r["commodity_id"], r["analyte_id"]): [r["passed"], r["failed"], r["invalid"]]
                for r in got} == dict(want)


def test_heatmap_cells_match_the_results(world):
    s = world
    accept_readings(session=s, actor=SYSTEM, readings=readings(120, 9))
    s.commit()
    start, end = date(2026, 3, 4), date(2026, 3, 29)
    want = expected_market_week(s, start=start, end=end)
    h = stats.heatmap(session=s, filters=stats.TrendFilter(start=start, end=end))
    got = {}
    for i, m in enumerate(h["market_ids"]):
        for j, w in enumerate(h["weeks"]):
            if h["tested"][i, j]:
                rate = h["pass_rate"][i, j]
                got[(m, w)] = (round(rate * h["tested"][i, j]), h["tested"][i, j])
    assert got == {k: (p, p + f) for k, (p, f) in want.items() if p + f}
