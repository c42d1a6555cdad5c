"""Sampling coverage: the share of markets and stalls tested per week or month, against the
sampling plan, per county or grid group (issue 19).

What is counted:

* a **market is tested** in a period when at least one sample taken there in the period counts
  (read from the market rollups: ``rollup_market_week`` for weeks, ``rollup_market_day`` for
  months; invalid results count as tested, the market was visited);
* a **stall is tested** when at least one of its samples counts in the period (each sample once,
  by the day it was taken: ``TestResult.counts`` and ``count_date``/``count_week``, as the pass
  rates count; ``lims.reporting.stats``), read from the vendor rollups (``rollup_vendor_week``,
  ``rollup_vendor_month``: ``lims.intake.vendor_rollups``, issue 17). All methods count: a lab sample taken at the stall is
  a sample of the stall;
* **the plan** asks ``per_month`` samples of each stall by its grade (``credit_grades.toml``
  ``[sampling]``: A 1, B 2, C 4, D 8); for a week it asks ``per_month × 12 / 52``. The grade is
  the stall's *current* grade (as ``grades.sampling_plan`` uses it), not the grade it had then.
  ``planned`` sums that over the group's stalls; ``toward_plan`` sums ``min(taken, planned)``
  per stall, so extra samples at one stall never make up for a stall left out; a stall is
  ``on plan`` when its samples reach what the plan asks of it.

Only active markets and stalls are counted (closed ones are neither asked for nor counted).
Periods are whole ISO weeks (Monday–Sunday) or calendar months overlapping [start, end]; a period
that has not ended yet (``partial``) is compared with the whole period's plan.

Everything is grouped in the database: one query for the markets, one for the stalls, one for
the plan's denominators, each returning a row per group × grade × period at most. A market
list is cut into chunks of ``CHUNK`` for its IN lists; the chunks are disjoint by market, so
their counts add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from lims.enforcement.rules import GradeRules, load_grade_rules
from lims.errors import InvalidInput
from lims.intake import rollups, vendor_rollups
from lims.models import GridGroup, Market, Vendor
from lims.timeutil import local_tz, now, week_start

PERIODS = ("week", "month")
GROUPS = ("county", "grid_group")
WEEKS_PER_MONTH = 52 / 12
CHUNK = 400

_V = Vendor.__table__
_M = Market.__table__


@dataclass(frozen=True)
class CoverageRow:
    period: str            # "week" or "month"
    start: date
    end: date              # inclusive
    group: str             # "county" or "grid_group"
    key: str | int | None  # the county, or the grid group's id (None: markets in no group)
    name: str              # the county, or the grid group's name ("" for no group)
    markets: int           # active markets in the group
    markets_tested: int
    stalls: int            # active stalls in the group
    stalls_tested: int
    stalls_on_plan: int    # stalls whose samples reached what the plan asks of them
    planned: float         # samples the plan asks for in the period
    taken: int             # samples taken at the group's active stalls
    toward_plan: float     # Σ over stalls of min(taken, planned)
    partial: bool = False  # the period has not ended yet

    @property
    def market_share(self) -> float | None:
        return self.markets_tested / self.markets if self.markets else None

    @property
    def stall_share(self) -> float | None:
        return self.stalls_tested / self.stalls if self.stalls else None

    @property
    def plan_share(self) -> float | None:
        """Share of the plan fulfilled (over- sampling of one stall does not count)."""
        return self.toward_plan / self.planned if self.planned else None


def periods(period: str, start: date, end: date) -> list[tuple[date, date]]:
    """The whole weeks or calendar months overlapping [start, end], as (first, last) days."""
    if period not in PERIODS:
        raise InvalidInput(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    if end < start:
        raise InvalidInput(f"the period ends ({end}) before it starts ({start})")
    out = []
    if period == "week":
        d = week_start(start)
        while d <= end:
            out.append((d, d + timedelta(days=6)))
            d += timedelta(weeks=1)
        return out
    d = start.replace(day=1)
    while d <= end:
        nxt = (d + timedelta(days=32)).replace(day=1)
        out.append((d, nxt - timedelta(days=1)))
        d = nxt
    return out


def plan_per_period(per_month: float, period: str) -> float:
    """Samples the plan asks of one stall in a week or month."""
    return per_month if period == "month" else per_month / WEEKS_PER_MONTH


def _index(period: str, buckets: list[tuple[date, date]]):
    """Map a returned bucket value to its period index (None when outside)."""
    if period == "month":
        return lambda v: v if isinstance(v, int) and 0 <= v < len(buckets) else None
    by_week = {a: i for i, (a, _b) in enumerate(buckets)}
    return lambda v: by_week.get(v if isinstance(v, date) else date.fromisoformat(str(v)))


def _group_col(group: str):
    return _M.c.county if group == "county" else _M.c.grid_group_id


def _market_scopes(county: str | None, market_ids: tuple[int, ...]) -> list[list]:
    """Conditions on the market table, one list per chunk of ``market_ids``."""
    base = [_M.c.active == sa.true()]
    if county:
        base.append(_M.c.county == county)
    if not market_ids:
        return [base]
    ids = sorted(set(market_ids))
    return [[*base, _M.c.id.in_(ids[i:i + CHUNK])] for i in range(0, len(ids), CHUNK)]


def coverage(*, session: Session, period: str = "month", start: date, end: date,
             group: str = "county", county: str | None = None, market_ids: tuple[int, ...] = (),
             rules: GradeRules | None = None) -> list[CoverageRow]:
    """Coverage per group (county or grid group) × period, ordered by period then group name.

    Every group with an active market gets a row for every period, tested or not.
    """
    if group not in GROUPS:
        raise InvalidInput(f"group must be one of {', '.join(GROUPS)}, got {group!r}")
    buckets = periods(period, start, end)
    rules = rules or load_grade_rules()
    per = {g: plan_per_period(n, period) for g, n in rules.per_month.items()}
    default = per[rules.default]
    conn = session.connection()
    gcol = _group_col(group)
    index = _index(period, buckets)
    lo, hi = buckets[0][0], buckets[-1][1]
    by_start = {a: i for i, (a, _b) in enumerate(buckets)}

    markets: dict = {}                       # group key → active markets
    stalls: dict = {}                        # group key → active stalls
    planned: dict = {}                       # group key → samples asked per period
    tested_m: dict = {}                      # (key, i) → markets tested
    tested_s: dict = {}                      # (key, i) → [stalls, on plan, taken, toward]
    for scope in _market_scopes(county, market_ids):
        for key, n in conn.execute(sa.select(gcol, sa.func.count()).where(*scope)
                                   .group_by(gcol)):
            markets[key] = markets.get(key, 0) + int(n)
        for key, grade, n in conn.execute(
                sa.select(gcol, _V.c.credit_grade, sa.func.count())
                .select_from(_V.join(_M, _M.c.id == _V.c.market_id))
                .where(*scope, _V.c.active == sa.true()).group_by(gcol, _V.c.credit_grade)):
            stalls[key] = stalls.get(key, 0) + int(n)
            planned[key] = planned.get(key, 0.0) + int(n) * per.get(grade, default)
        for q in _markets_tested(period, buckets, gcol, scope, lo, hi):
            for key, b, n in conn.execute(q):
                i = index(b)
                if i is not None:
                    tested_m[(key, i)] = tested_m.get((key, i), 0) + int(n)
        for key, b, n_stalls, on_plan, taken, toward in conn.execute(
                _stalls_tested(period, buckets, gcol, scope, lo, hi, per, default)):
            i = by_start.get(b if isinstance(b, date) else date.fromisoformat(str(b)))
            if i is None:
                continue
            acc = tested_s.setdefault((key, i), [0, 0, 0, 0.0])
            for j, v in enumerate((n_stalls, on_plan, taken, toward)):
                acc[j] += v or 0

    names = _group_names(conn, group, markets)
    today = now().astimezone(local_tz()).date()
    out = []
    for i, (a, b) in enumerate(buckets):
        for key in sorted(markets, key=lambda k: (names.get(k) or "\uffff", str(k))):
            s = tested_s.get((key, i), [0, 0, 0, 0.0])
            out.append(CoverageRow(
                period=period, start=a, end=b, group=group, key=key, name=names.get(key) or "",
                markets=markets[key], markets_tested=tested_m.get((key, i), 0),
                stalls=stalls.get(key, 0), stalls_tested=int(s[0]), stalls_on_plan=int(s[1]),
                planned=planned.get(key, 0.0), taken=int(s[2]), toward_plan=float(s[3]),
                partial=b >= today))
    return out


def _markets_tested(period, buckets, gcol, scope, lo: date, hi: date) -> list[sa.Select]:
    """(group key, period, markets with a counted sample) from the market rollups.

    A month asks, per active market, whether ``rollup_market_day`` has a row in the month: one
    probe on its key (market, day) per market and month, one query per month, instead of
    reading every market-day of the months (issue 17)."""
    if period == "month":
        d = rollups.D.c
        return [sa.select(gcol, sa.literal_column(str(i), sa.Integer), sa.func.count())
                .where(*scope, sa.exists().where(d.market_key == _M.c.id, d.local_date >= a,
                                                 d.local_date <= b,
                                                 (d.passed + d.failed + d.invalid) > 0))
                .group_by(gcol) for i, (a, b) in enumerate(buckets)]
    r = rollups.W.c
    rows = (sa.select(gcol.label("g"), r.week_start.label("b"), r.market_key.label("mk"))
            .select_from(rollups.W.join(_M, _M.c.id == r.market_key))
            .where(r.week_start >= week_start(lo), r.week_start <= hi,
                   (r.passed + r.failed + r.invalid) > 0, *scope)
            .subquery())
    return [sa.select(rows.c.g, rows.c.b, sa.func.count(sa.distinct(rows.c.mk)))
            .group_by(rows.c.g, rows.c.b)]


def _stalls_tested(period, buckets, gcol, scope, lo: date, hi: date, per: dict[str, float],
                   default: float) -> sa.Select:
    """(group key, period start, stalls tested, stalls on plan, samples, Σ min(samples,
    planned)), from the vendor rollups (``rollup_vendor_week`` / ``rollup_vendor_month``: the
    samples of each stall × period, each sample once by its counting result), summed per group
    with the plan of the stall's grade. A stall's samples are in its own market's group (a
    sample's market is its stall's)."""
    r = vendor_rollups.VW if period == "week" else vendor_rollups.VM
    when = r.c.week_start if period == "week" else r.c.month_start
    v = _V.c
    n = r.c.passed + r.c.failed + r.c.invalid
    plan = sa.case(*[(v.credit_grade == g, sa.literal(x, sa.Float)) for g, x in per.items()],
                   else_=sa.literal(default, sa.Float))
    return (sa.select(gcol, when, sa.func.count(),
                      sa.func.sum(sa.case((n >= plan, 1), else_=0)), sa.func.sum(n),
                      sa.func.sum(sa.case((n < plan, sa.cast(n, sa.Float)), else_=plan)))
            .select_from(r.join(_V, v.id == r.c.vendor_id).join(_M, _M.c.id == v.market_id))
            .where(when >= lo, when <= hi, *scope, v.active == sa.true())
            .group_by(gcol, when))


def _group_names(conn, group: str, markets: dict) -> dict:
    if group == "county":
        return {k: k for k in markets}
    g = GridGroup.__table__.c
    ids = sorted(k for k in markets if k is not None)
    out: dict = {}
    for i in range(0, len(ids), CHUNK):
        out.update(conn.execute(sa.select(g.id, g.name).where(g.id.in_(ids[i:i + CHUNK]))).all())
    return out


def totals(rows: list[CoverageRow]) -> list[CoverageRow]:
    """All groups of each period added up (one row per period, key None, name "")."""
    out: dict[tuple[date, date], CoverageRow] = {}
    for r in rows:
        o = out.get((r.start, r.end))
        if o is None:
            out[(r.start, r.end)] = CoverageRow(r.period, r.start, r.end, r.group, None, "",
                                                r.markets, r.markets_tested, r.stalls,
                                                r.stalls_tested, r.stalls_on_plan, r.planned,
                                                r.taken, r.toward_plan, r.partial)
            continue
        out[(r.start, r.end)] = CoverageRow(
            o.period, o.start, o.end, o.group, None, "", o.markets + r.markets,
            o.markets_tested + r.markets_tested, o.stalls + r.stalls,
            o.stalls_tested + r.stalls_tested, o.stalls_on_plan + r.stalls_on_plan,
            o.planned + r.planned, o.taken + r.taken, o.toward_plan + r.toward_plan, o.partial)
    return [out[k] for k in sorted(out)]
