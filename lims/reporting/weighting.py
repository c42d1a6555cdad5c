"""Sampling-weighted pass rates: a market's pass rate re-weighted to its vendor mix (issue 19).

The grade plan samples D vendors eight times as often as A vendors, so a market's raw pass rate
mostly tells how much risk-targeted sampling it got. Post-stratified by credit grade, the
estimate weights each grade's own pass rate by that grade's share of the market's vendors::

    p_w = Σ_h W_h · p_h          W_h = N_h / N  (active vendors of grade h / all active vendors)
                                 p_h = passed_h / n_h  (samples of grade-h vendors)

with the standard post-stratified (stratified-random-sampling) variance, finite-population
correction left out (a stall can be sampled again and again)::

    V = Σ_h W_h² · p_h (1 − p_h) / n_h

and the 95 % interval p_w ± 1.96 √V, cut to [0, 1] (Cochran, *Sampling Techniques*, 3rd ed.,
§5.3 and §5A.9; Lohr, *Sampling: Design and Analysis*, §4.4). A stratum at 0 % or 100 % adds no
variance under this formula, so with few samples the interval can be narrower than it should be;
the per-grade counts are returned with every estimate for that reason.

**Strata without data.** A grade that has vendors in the market (W_h > 0) but no counted sample
in the period (n_h = 0) has no pass rate. It is not dropped silently: the estimate is taken over
the graded strata that have data, re-normalised (Σ W_h p_h / (1 − W_miss)), its ``status`` is
``"partial"`` with the missing grades listed, and the interval is widened to what the unknown
strata could be at worst, [S − 1.96 √V, S + W_miss + 1.96 √V] with S = Σ_observed W_h p_h (the
missing vendors all failing, or all passing). With no stratum observed, or no active vendor to
weight by, the status is ``"no_data"`` and there is no weighted rate.

Samples count as in ``lims.reporting.stats`` (each sample once, by the day it was taken; invalid
results count neither way). For whole calendar months (the coverage page and the monthly report
ask for one) the counts come from the rollups (``rollup_market_day`` and
``rollup_vendor_month``, issue 17); any other period reads the results. The grade is each vendor's current grade. Samples not bound to a
vendor (residents' purchases, market-level samples) are in the raw rate only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from lims.enforcement.rules import GRADES
from lims.errors import InvalidInput
from lims.intake import rollups, vendor_rollups
from lims.models import Market, Sample, TestResult, Vendor
from lims.reporting.stats import FAIL_OUTCOMES, PASS_OUTCOMES, counted, wilson_interval
from lims.timeutil import week_start

Z95 = 1.959964
CHUNK = 400

_T = TestResult.__table__
_S = Sample.__table__
_V = Vendor.__table__
_M = Market.__table__


@dataclass(frozen=True)
class Stratum:
    grade: str
    vendors: int            # N_h: active vendors of the grade in the market
    weight: float           # W_h = N_h / N
    tested: int             # n_h: samples of the grade's vendors with a pass or fail
    passed: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.tested if self.tested else None


@dataclass(frozen=True)
class Estimate:
    rate: float | None      # p_w (None: no data)
    low: float | None
    high: float | None
    status: str             # "ok", "partial" (strata without data), "no_data"
    missing: tuple[str, ...] = ()   # grades with vendors but no sample


@dataclass(frozen=True)
class WeightedRate:
    market_id: int
    market: str
    county: str
    tested: int             # every counted sample of the market with a pass or fail
    passed: int
    raw_rate: float | None
    raw_low: float | None   # Wilson 95 %
    raw_high: float | None
    weighted: Estimate
    strata: tuple[Stratum, ...]


def post_stratified(strata: list[Stratum] | tuple[Stratum, ...], z: float = Z95) -> Estimate:
    """The post-stratified pass rate and its interval (see the module docstring)."""
    if not strata or sum(s.vendors for s in strata) == 0:
        return Estimate(None, None, None, "no_data")
    observed = [s for s in strata if s.weight > 0 and s.tested > 0]
    missing = tuple(s.grade for s in strata if s.weight > 0 and s.tested == 0)
    if not observed:
        return Estimate(None, None, None, "no_data", missing)
    total = sum(s.passed * s.weight / s.tested for s in observed)
    var = sum(s.weight ** 2 * (s.passed / s.tested) * (1 - s.passed / s.tested) / s.tested
              for s in observed)
    w_miss = sum(s.weight for s in strata if s.grade in missing)
    half = z * math.sqrt(var)
    rate = total / (1 - w_miss)
    return Estimate(rate, max(0.0, total - half), min(1.0, total + w_miss + half),
                    "partial" if missing else "ok", missing)


def strata_of(vendors: dict[str, int], counts: dict[str, tuple[int, int]]) -> tuple[Stratum, ...]:
    """Strata A–D from vendors per grade and (passed, tested) per grade."""
    n = sum(vendors.values())
    return tuple(Stratum(g, vendors.get(g, 0), vendors.get(g, 0) / n if n else 0.0,
                         counts.get(g, (0, 0))[1], counts.get(g, (0, 0))[0]) for g in GRADES)


def _scopes(county: str | None, market_ids: tuple[int, ...]) -> list[list]:
    base = [] if not county else [_M.c.county == county]
    if not market_ids:
        return [base]
    ids = sorted(set(market_ids))
    return [[*base, _M.c.id.in_(ids[i:i + CHUNK])] for i in range(0, len(ids), CHUNK)]


def weighted_pass_rates(*, session: Session, start: date, end: date, county: str | None = None,
                        market_ids: tuple[int, ...] = ()) -> list[WeightedRate]:
    """Raw and grade-weighted pass rate of every market with a counted sample in [start, end],
    lowest weighted rate first (markets without one last)."""
    if end < start:
        raise InvalidInput(f"the period ends ({end}) before it starts ({start})")
    conn = session.connection()
    t, s, v = _T.c, _S.c, _V.c
    passed = sa.func.sum(sa.case((t.verdict.in_(PASS_OUTCOMES), 1), else_=0))
    failed = sa.func.sum(sa.case((t.verdict.in_(FAIL_OUTCOMES), 1), else_=0))
    counts: dict[int, dict] = {}          # market → grade (None: no vendor) → (passed, tested)
    vendors: dict[int, dict[str, int]] = {}
    markets: dict[int, tuple[str, str]] = {}
    whole_months = start.day == 1 and (end + timedelta(days=1)).day == 1
    for scope in _scopes(county, market_ids):
        in_scope = sa.select(_M.c.id).where(*scope)
        if whole_months:   # from the rollups (issue 17)
            _counts_from_rollups(conn, counts, in_scope if scope else None, start, end)
        # (the whole province reads the period's results as they lie: faster than by market)
        picked = [t.market_id.in_(in_scope)] if scope else [t.market_id.is_not(None)]
        q = (sa.select(t.market_id, v.credit_grade, passed, failed)
             .select_from(_T.join(_S, s.id == t.sample_id).outerjoin(_V, v.id == s.vendor_id))
             # a result is never tested before its sample's count week: the test week
             # bounds the scan from below on its index (no upper bound: a lab result
             # may come weeks later)
             .where(*counted(t), *picked, t.week_start >= week_start(start),
                    t.count_week >= week_start(start), t.count_week <= end,
                    t.count_date >= start, t.count_date <= end)
             .group_by(t.market_id, v.credit_grade))
        for mid, grade, p, fl in ([] if whole_months else conn.execute(q)):
            counts.setdefault(mid, {})[grade] = (int(p or 0), int(p or 0) + int(fl or 0))
        for mid, grade, n in conn.execute(
                sa.select(v.market_id, v.credit_grade, sa.func.count())
                .where(v.active == sa.true(), v.market_id.in_(in_scope))
                .group_by(v.market_id, v.credit_grade)):
            vendors.setdefault(mid, {})[grade] = int(n)
        markets.update({mid: (name, cty) for mid, name, cty in conn.execute(
            sa.select(_M.c.id, _M.c.name, _M.c.county).where(*scope))})
    out = []
    for mid, per_grade in counts.items():
        p = sum(c[0] for c in per_grade.values())
        n = sum(c[1] for c in per_grade.values())
        if n == 0:
            continue   # only invalid results
        lo, hi = wilson_interval(p, n)
        strata = strata_of(vendors.get(mid, {}),
                           {g: c for g, c in per_grade.items() if g is not None})
        name, cty = markets.get(mid, ("—", ""))
        out.append(WeightedRate(mid, name, cty, n, p, p / n, lo, hi, post_stratified(strata),
                                strata))
    out.sort(key=lambda r: (r.weighted.rate is None, r.weighted.rate or 0.0, r.raw_rate or 0.0,
                            r.market))
    return out


def _counts_from_rollups(conn: sa.Connection, counts: dict[int, dict], in_scope, start: date,
                         end: date) -> None:
    """The counts of whole months [start, end] from the rollups, as the results query gives
    them: every sample of a market from ``rollup_market_day`` (by the day it was taken), those
    of its stalls per grade from ``rollup_vendor_month`` (a stall's samples are its market's);
    the samples bound to no stall are the difference, under the grade None."""
    d, r, v = rollups.D.c, vendor_rollups.VM.c, _V.c
    by_market = (sa.select(d.market_key, sa.func.sum(d.passed), sa.func.sum(d.failed))
                 .where(d.local_date >= start, d.local_date <= end,
                        d.market_key.in_(in_scope) if in_scope is not None else d.market_key != 0)
                 .group_by(d.market_key))
    per_grade = (sa.select(v.market_id, v.credit_grade, sa.func.sum(r.passed),
                           sa.func.sum(r.failed))
                 .select_from(vendor_rollups.VM.join(_V, v.id == r.vendor_id))
                 .where(r.month_start >= start, r.month_start <= end,
                        *([v.market_id.in_(in_scope)] if in_scope is not None else []))
                 .group_by(v.market_id, v.credit_grade))
    left: dict[int, list[int]] = {}
    for mid, p, fl in conn.execute(by_market):
        left[mid] = [int(p or 0), int(fl or 0)]
        counts.setdefault(mid, {})
    for mid, grade, p, fl in conn.execute(per_grade):
        if mid not in left:
            continue
        p, fl = int(p or 0), int(fl or 0)
        counts[mid][grade] = (p, p + fl)
        left[mid][0] -= p
        left[mid][1] -= fl
    for mid, (p, fl) in left.items():
        if p or fl:
            counts[mid][None] = (p, p + fl)
