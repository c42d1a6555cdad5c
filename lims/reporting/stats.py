"""Aggregations for management: pass rates, grouped in the database.

What counts: samples, not readings (issue 16). Each sample counts once, with the verdict of its
one result flagged ``counts`` — the lab result if there is one, else its last re-test, among its
recorded or accepted results (held and voided results are out; ``lims.intake.counting``) — in
the day and ISO week the sample was taken (``count_date``/``count_week``), however late its
re-tests or lab result came. Passes are negative/compliant, fails are positive/noncompliant/
suspicious (a suspicious screen is not a pass until a re-test clears it); invalid results count
neither way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from lims.intake import rollups
from lims.models import Analyte, Commodity, Market, TestResult
from lims.models.enums import ResultStatus
from lims.timeutil import week_start
from lims.verdicts import Outcome

COUNTED_STATUSES = (ResultStatus.RECORDED.value, ResultStatus.ACCEPTED.value)
PASS_OUTCOMES = tuple(o.value for o in Outcome if o.passes is True)
FAIL_OUTCOMES = tuple(o.value for o in Outcome if o.passes is False)
INVALID_OUTCOMES = tuple(o.value for o in Outcome if o.passes is None)


def wilson_interval(passes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion (95 % by default)."""
    if n == 0:
        return (math.nan, math.nan)
    p = passes / n
    centre, half = _wilson_centre_half(p, n, z, math.sqrt)
    # at 0 and n passes the bound is exactly 0 or 1 (floating point can miss it by 1 ulp,
    # which put the rate outside its own interval and crashed the report's error bars)
    lo = 0.0 if passes == 0 else max(0.0, centre - half)
    hi = 1.0 if passes == n else min(1.0, centre + half)
    return (lo, hi)


def _wilson_centre_half(p, n, z: float, sqrt):
    """The Wilson score formula, for a float or a numpy array (``sqrt`` to match)."""
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre, half


@dataclass(frozen=True)
class TrendFilter:
    county: str | None = None
    market_ids: tuple[int, ...] = ()
    commodity_ids: tuple[int, ...] = ()
    start: date | None = None
    end: date | None = None  # inclusive


def counted(t=TestResult.__table__.c) -> list:
    """The conditions of a result that counts: its sample's one counting result."""
    return [t.counts == sa.true(), t.status.in_(COUNTED_STATUSES)]


def _where(f: TrendFilter):
    t = TestResult.__table__.c
    conds = counted(t)
    if f.market_ids:
        conds.append(t.market_id.in_(f.market_ids))
    if f.commodity_ids:
        conds.append(t.commodity_id.in_(f.commodity_ids))
    if f.start:
        conds.append(t.count_date >= f.start)
    if f.end:
        conds.append(t.count_date <= f.end)
    if f.county:
        m = Market.__table__.c
        conds.append(t.market_id.in_(sa.select(m.id).where(m.county == f.county)))
    return conds


def partial_ranges(f, lo: date | None, hi: date | None) -> list[tuple]:
    """The day ranges of the period outside its whole weeks ``lo``..``hi`` (``_full_weeks``):
    read from the daily rollup. The whole period when no whole week lies inside it."""
    if lo is not None and hi is not None and lo > hi:
        return [(f.start, f.end)]
    ranges = []
    if lo is not None and lo > f.start:
        ranges.append((f.start, min(lo - timedelta(days=1), f.end or lo)))
    if hi is not None and f.end > hi + timedelta(days=6):
        ranges.append((max(hi + timedelta(days=7), f.start or hi), f.end))
    return ranges


def _full_weeks(f: TrendFilter) -> tuple[date | None, date | None]:
    """First and last week_start of the ISO weeks lying wholly inside [start, end]."""
    lo = None if f.start is None else f.start + timedelta(days=(7 - f.start.weekday()) % 7)
    hi = None if f.end is None else week_start(f.end - timedelta(days=6))
    return lo, hi


def _market_conds(col, f: TrendFilter) -> list:
    conds = []
    if f.market_ids:
        conds.append(col.in_(f.market_ids))
    if f.county:
        m = Market.__table__.c
        conds.append(col.in_(sa.select(m.id).where(m.county == f.county)))
    return conds


def _raw_rows(conn, q) -> list[tuple]:
    """Plain DBAPI tuples (no Row objects: with a few hundred thousand market-weeks, building
    SQLAlchemy rows cost more than the query). Only for columns needing no result processing."""
    res = conn.execute(q)
    try:
        return res.cursor.fetchall()
    finally:
        res.close()


def _as_date(value, memo: dict) -> date:
    d = memo.get(value)
    if d is None:
        d = memo[value] = value if isinstance(value, date) else date.fromisoformat(str(value))
    return d


def _rows_from_rollups(conn, f: TrendFilter) -> list[tuple]:
    """Raw (market key or 0, week as stored, passed, failed) per market × week, from the rollups.

    Whole weeks inside the period come from rollup_market_week, the days of a partial week at
    either edge from rollup_market_day, so any date range is exact.
    """
    w = rollups.W.c
    d = rollups.D.c
    lo, hi = _full_weeks(f)
    wk_as_text = sa.type_coerce(w.week_start, sa.String)  # dates parsed once per week below
    conds = _market_conds(w.market_key, f)
    if lo is not None:
        conds.append(w.week_start >= lo)
    if hi is not None:
        conds.append(w.week_start <= hi)
    parts = [sa.select(w.market_key.label("mk"), wk_as_text.label("wk"),
                       w.passed.label("p"), w.failed.label("f")).where(*conds)]
    # days of the partial weeks at the edges, each a tight range of rollup_market_day
    ranges = partial_ranges(f, lo, hi)
    if lo is not None and hi is not None and lo > hi:   # no whole week inside the period
        parts = []
    for a, b in ranges:
        parts.append(sa.select(d.market_key, sa.type_coerce(d.week_start, sa.String),
                               sa.func.sum(d.passed), sa.func.sum(d.failed))
                     .where(d.local_date >= a, d.local_date <= b, *_market_conds(d.market_key, f))
                     .group_by(d.market_key, d.week_start))
    q = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).order_by(
        sa.literal_column("1"), sa.literal_column("2"))
    return _raw_rows(conn, q)  # the edge weeks never overlap the whole weeks: no re-grouping


def _rows_from_base(conn, f: TrendFilter) -> list[tuple]:
    """Raw (market_id, week as stored, passed, failed) per market × week, from test_result."""
    t = TestResult.__table__.c
    passed = sa.func.coalesce(sa.func.sum(sa.case((t.verdict.in_(PASS_OUTCOMES), 1), else_=0)), 0)
    failed = sa.func.coalesce(sa.func.sum(sa.case((t.verdict.in_(FAIL_OUTCOMES), 1), else_=0)), 0)
    q = (sa.select(t.market_id, sa.type_coerce(t.count_week, sa.String), passed.label("passed"),
                   failed.label("failed"))
         .where(*_where(f)).group_by(t.market_id, t.count_week)
         .order_by(t.market_id, t.count_week))
    return _raw_rows(conn, q)


def _raw_market_weeks(conn, f: TrendFilter) -> list[tuple]:
    return _rows_from_base(conn, f) if f.commodity_ids else _rows_from_rollups(conn, f)


def market_week_rows(*, session: Session, filters: TrendFilter) -> list[tuple]:
    """(market_id, week_start, passed, failed) per market × week, ordered by market then week.

    Read from the rollups (exact for any period); a commodity filter needs the base table.
    Groups with only invalid results have passed = failed = 0; market_id None = no market.
    """
    memo: dict = {}
    return [(mk or None, memo.get(wk) or _as_date(wk, memo), int(p), int(fl))
            for mk, wk, p, fl in _raw_market_weeks(session.connection(), filters)]


def pass_rate_by_market_week(*, session: Session, filters: TrendFilter) -> list[dict]:
    """One row per market × week: tested, passed, failed, pass rate and its Wilson interval."""
    conn = session.connection()
    rows = _raw_market_weeks(conn, filters)
    if not rows:
        return []
    names = dict(conn.execute(sa.select(Market.__table__.c.id, Market.__table__.c.name)).all())
    days: dict = {}
    rates: dict = {}  # counts per market-week are small: each (passed, failed) pair once
    out = []
    append = out.append
    last, market_id, name = object(), None, "—"
    for mk, wk, p, fl in rows:
        if mk != last:  # rows come market by market
            last, market_id, name = mk, mk or None, names.get(mk, "—")
        day = days.get(wk) or _as_date(wk, days)
        key = (p, fl)
        r = rates.get(key)
        if r is None:
            n = int(p) + int(fl)
            r = rates[key] = (p + fl, p / n if n else math.nan, *wilson_interval(int(p), n))
        append({"market_id": market_id, "market": name, "week_start": day, "tested": r[0],
                "passed": p, "failed": fl, "pass_rate": r[1], "ci_low": r[2], "ci_high": r[3]})
    return out


def wilson_arrays(passes: np.ndarray, n: np.ndarray, z: float = 1.959964):
    """Pass rate and Wilson interval for arrays of counts (NaN where n = 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        nf = n.astype(float)
        p = passes / nf
        centre, half = _wilson_centre_half(p, nf, z, np.sqrt)
        lo = np.where(passes == 0, 0.0, np.maximum(0.0, centre - half))
        hi = np.where(passes == n, 1.0, np.minimum(1.0, centre + half))
        nan = n == 0
        return p, np.where(nan, np.nan, lo), np.where(nan, np.nan, hi)


def heatmap(*, session: Session, filters: TrendFilter) -> dict:
    """Market × week matrices for a heatmap: ``market_ids`` (None for results without a
    market), ``weeks``, ``tested`` and ``pass_rate`` (NaN where nothing counted) as numpy
    arrays; one pass over the rollups, assembled without a Python loop per cell."""
    rows = _raw_market_weeks(session.connection(), filters)
    if not rows:
        return {"market_ids": [], "weeks": [], "tested": np.zeros((0, 0), dtype=np.int64),
                "pass_rate": np.zeros((0, 0))}
    n = len(rows)
    markets, ri = np.unique(np.fromiter((r[0] or 0 for r in rows), dtype=np.int64, count=n),
                            return_inverse=True)
    raw_weeks = sorted({r[1] for r in rows}, key=str)  # a few dozen distinct weeks
    col = {w: j for j, w in enumerate(raw_weeks)}
    ci = np.fromiter((col[r[1]] for r in rows), dtype=np.int64, count=n)
    memo: dict = {}
    weeks = [_as_date(w, memo) for w in raw_weeks]
    p = np.fromiter((r[2] for r in rows), dtype=np.int64, count=n)
    fl = np.fromiter((r[3] for r in rows), dtype=np.int64, count=n)
    passed = np.zeros((len(markets), len(weeks)), dtype=np.int64)
    tested = np.zeros_like(passed)
    passed[ri, ci] = p
    tested[ri, ci] = p + fl
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(tested > 0, passed / np.maximum(tested, 1), np.nan)
    return {"market_ids": [int(m) or None for m in markets], "weeks": weeks,
            "tested": tested, "pass_rate": rate}


def commodity_analyte_breakdown(*, session: Session, filters: TrendFilter) -> list[dict]:
    """Tested/passed/failed/invalid per commodity × analyte (analyte None for broad screens).

    The period is taken in whole ISO weeks: every week that overlaps [start, end] counts. Read
    from the county or province rollup; a market filter needs the base table.
    """
    conn = session.connection()
    lo = None if filters.start is None else week_start(filters.start)
    hi = None if filters.end is None else week_start(filters.end)
    if filters.market_ids:
        t = TestResult.__table__.c
        conds = [*counted(t), *_market_conds(t.market_id, filters)]
        wk, com, an = t.count_week, t.commodity_id, sa.func.coalesce(t.analyte_id, 0)
        counts = [sa.func.sum(sa.case((t.verdict.in_(v), 1), else_=0))
                  for v in (PASS_OUTCOMES, FAIL_OUTCOMES, INVALID_OUTCOMES)]
        src = TestResult.__table__
    else:  # one county: the county rollup; the whole province: the province rollup
        src = rollups.C if filters.county else rollups.P
        c = src.c
        conds = [c.county == filters.county] if filters.county else []
        wk, com, an = c.week_start, c.commodity_id, c.analyte_key
        counts = [sa.func.sum(c.passed), sa.func.sum(c.failed), sa.func.sum(c.invalid)]
    if filters.commodity_ids:
        conds.append(com.in_(filters.commodity_ids))
    if lo is not None:
        conds.append(wk >= lo)
    if hi is not None:
        conds.append(wk <= hi)
    rows = conn.execute(sa.select(com, an, *counts).select_from(src).where(*conds)
                        .group_by(com, an)).all()
    coms = {r.id: r for r in conn.execute(sa.select(Commodity.__table__))}
    ans = {r.id: r for r in conn.execute(sa.select(Analyte.__table__))}
    out = []
    for com_id, an_key, p, fl, inv in rows:
        p, fl, inv = int(p or 0), int(fl or 0), int(inv or 0)
        n = p + fl
        lo_ci, hi_ci = wilson_interval(p, n)
        a = ans.get(an_key)
        out.append({"commodity_id": com_id, "commodity_zh": coms[com_id].name_zh,
                    "commodity_en": coms[com_id].name_en, "analyte_id": an_key or None,
                    "analyte_zh": a.name_zh if a else None, "analyte_en": a.name_en if a else None,
                    "tested": n, "passed": p, "failed": fl, "invalid": inv,
                    "pass_rate": p / n if n else math.nan, "ci_low": lo_ci, "ci_high": hi_ci})
    out.sort(key=lambda r: (-r["failed"], r["commodity_en"], r["analyte_en"] or ""))
    return out


def filter_options(*, session: Session) -> dict[str, list]:
    """Counties, markets and commodities for the filters."""
    conn = session.connection()
    m = Market.__table__.c
    c = Commodity.__table__.c
    return {
        "counties": [r[0] for r in conn.execute(sa.select(m.county).distinct().order_by(m.county))],
        "markets": [dict(r._mapping) for r in conn.execute(
            sa.select(m.id, m.code, m.name, m.county, m.active).order_by(m.county, m.name))],
        "commodities": [dict(r._mapping) for r in conn.execute(
            sa.select(c.id, c.name_zh, c.name_en).order_by(c.name_en))],
    }
