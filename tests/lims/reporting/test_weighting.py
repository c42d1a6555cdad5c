"""Grade-weighted (post-stratified) pass rates (issue 19): hand-computed on small tables."""

from __future__ import annotations

import math
from datetime import date, datetime, time

import pytest
from sqlmodel import select

from lims.errors import InvalidInput
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Market, Vendor
from lims.reporting.weighting import Stratum, post_stratified, weighted_pass_rates
from lims.security.auth import SYSTEM
from tests.conftest import TZ

Z = 1.959964


def test_post_stratified_by_hand():
    # 4 vendors: 3 A (W = 0.75), 1 D (W = 0.25); A 9/10 pass, D 10/20 pass
    est = post_stratified([Stratum("A", 3, 0.75, 10, 9), Stratum("B", 0, 0.0, 0, 0),
                           Stratum("C", 0, 0.0, 0, 0), Stratum("D", 1, 0.25, 20, 10)])
    # 0.75·0.9 + 0.25·0.5 = 0.8 (the raw rate would be 19/30 = 0.633)
    assert est.rate == pytest.approx(0.8)
    # V = 0.5625·0.9·0.1/10 + 0.0625·0.5·0.5/20 = 0.0050625 + 0.00078125 = 0.00584375
    half = Z * math.sqrt(0.00584375)         # = 0.149828
    assert est.low == pytest.approx(0.8 - half) and est.high == pytest.approx(0.8 + half)
    assert est.low == pytest.approx(0.650172, abs=1e-6)
    assert (est.status, est.missing) == ("ok", ())


def test_an_empty_stratum_widens_the_interval_and_is_named():
    # A: W 0.5, 8/10; B: W 0.25, never sampled; C: W 0.25, 5/5
    est = post_stratified([Stratum("A", 2, 0.5, 10, 8), Stratum("B", 1, 0.25, 0, 0),
                           Stratum("C", 1, 0.25, 5, 5), Stratum("D", 0, 0.0, 0, 0)])
    assert (est.status, est.missing) == ("partial", ("B",))
    # S = 0.5·0.8 + 0.25·1 = 0.65 over the observed 0.75 of the vendors: 0.65 / 0.75
    assert est.rate == pytest.approx(0.866667, abs=1e-6)
    # V = 0.25·0.8·0.2/10 + 0.0625·0 = 0.004; low = 0.65 − 1.96·√0.004, high = 0.65 + 0.25 + …
    assert est.low == pytest.approx(0.65 - Z * math.sqrt(0.004))
    assert est.low == pytest.approx(0.526041, abs=1e-6)
    assert est.high == 1.0            # 0.9 + 0.124 cut to 1
    assert est.low <= est.rate <= est.high


def test_no_data():
    assert post_stratified([]).status == "no_data"
    none_tested = post_stratified([Stratum("A", 1, 1.0, 0, 0)])
    assert (none_tested.rate, none_tested.status, none_tested.missing) == (None, "no_data", ("A",))
    no_vendors = post_stratified([Stratum("A", 0, 0.0, 3, 3)])
    assert (no_vendors.rate, no_vendors.status) == (None, "no_data")


def _reading(market, stall, passes: bool, minute: int) -> ReadingIn:
    return ReadingIn(method="ENZ-5009.199", market=market, vendor_stall=stall, commodity="芹菜",
                     tested_at=datetime.combine(date(2026, 3, 10), time(8, minute), tzinfo=TZ),
                     raw={"control_delta": 0.32, "sample_delta": 0.3 if passes else 0.1})


@pytest.fixture
def world(session):
    w1 = Market(code="W1", name="甲市场", county="X县", kind="farmers")
    w2 = Market(code="W2", name="乙市场", county="X县", kind="farmers")
    session.add_all([w1, w2])
    session.flush()
    grades = {("W1", "a1"): "A", ("W1", "a2"): "A", ("W1", "a3"): "A", ("W1", "d1"): "D",
              ("W1", "gone"): "C", ("W2", "a1"): "A", ("W2", "b1"): "B"}
    ids = {"W1": w1.id, "W2": w2.id}
    session.add_all([Vendor(market_id=ids[m], stall=s) for m, s in grades])
    session.flush()
    # W1: A vendors 3 pass + 1 fail, D 1 pass + 1 fail, a closed C stall 1 fail (its grade has
    # no weight), one sample bound to no stall (raw rate only); W2: only A sampled, 2 passes
    spec = [("W1", "a1", True), ("W1", "a2", True), ("W1", "a3", True), ("W1", "a1", False),
            ("W1", "d1", True), ("W1", "d1", False), ("W1", "gone", False), ("W1", None, True),
            ("W2", "a1", True), ("W2", "a1", True)]
    accept_readings(session=session, actor=SYSTEM,
                    readings=[_reading(m, s, p, i) for i, (m, s, p) in enumerate(spec)])
    for v in session.exec(select(Vendor)):
        key = ({w1.id: "W1", w2.id: "W2"}[v.market_id], v.stall)
        v.credit_grade, v.active = grades[key], v.stall != "gone"
        session.add(v)
    session.commit()
    return {"W1": w1, "W2": w2}


def test_weighted_rates_from_the_store(session, world):
    rows = {r.market: r for r in weighted_pass_rates(session=session, start=date(2026, 3, 1),
                                                     end=date(2026, 3, 31))}
    w1 = rows["甲市场"]
    # raw: 3 + 1 + 0 + 1 passes of 4 + 2 + 1 + 1 samples
    assert (w1.passed, w1.tested) == (5, 8) and w1.raw_rate == pytest.approx(5 / 8)
    # weights by the 4 open stalls: A 0.75, D 0.25; A 3/4, D 1/2 → 0.5625 + 0.125
    assert w1.weighted.rate == pytest.approx(0.6875) and w1.weighted.status == "ok"
    # V = 0.5625·0.75·0.25/4 + 0.0625·0.5·0.5/2 = 0.0263671875 + 0.0078125
    half = Z * math.sqrt(0.0341796875)
    assert w1.weighted.low == pytest.approx(0.6875 - half)
    assert w1.weighted.high == 1.0          # 0.6875 + 0.3624 cut to 1
    by_grade = {s.grade: (s.vendors, s.tested, s.passed) for s in w1.strata}
    assert by_grade == {"A": (3, 4, 3), "B": (0, 0, 0), "C": (0, 1, 0), "D": (1, 2, 1)}
    w2 = rows["乙市场"]
    # A (W 0.5) 2/2, B (W 0.5) never sampled: S = 0.5, estimate 0.5/0.5 = 1, interval [0.5, 1]
    assert (w2.weighted.status, w2.weighted.missing) == ("partial", ("B",))
    assert w2.weighted.rate == pytest.approx(1.0)
    assert (w2.weighted.low, w2.weighted.high) == (pytest.approx(0.5), pytest.approx(1.0))
    assert weighted_pass_rates(session=session, start=date(2026, 4, 1),
                               end=date(2026, 4, 30)) == []
    only_w2 = weighted_pass_rates(session=session, start=date(2026, 3, 1), end=date(2026, 3, 31),
                                  market_ids=(world["W2"].id,))
    assert [r.market for r in only_w2] == ["乙市场"]
    with pytest.raises(InvalidInput):
        weighted_pass_rates(session=session, start=date(2026, 3, 2), end=date(2026, 3, 1))


def test_whole_months_from_the_rollups_equal_the_results(session, world):
    # March 1–31 is read from the rollups, March 2–31 (the same samples: all on March 10)
    # from the results
    for kw in ({}, {"county": "X县"}, {"market_ids": (world["W1"].id,)}):
        from_rollups = weighted_pass_rates(session=session, start=date(2026, 3, 1),
                                           end=date(2026, 3, 31), **kw)
        assert from_rollups and from_rollups == weighted_pass_rates(
            session=session, start=date(2026, 3, 2), end=date(2026, 3, 31), **kw)
