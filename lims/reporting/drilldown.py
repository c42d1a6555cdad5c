"""Pass rates at the level a manager reads: counties, or the markets of one county (issue 17).

Everything is aggregated in SQL from the rollups (``lims.intake.rollups``; a commodity filter
falls back to ``test_result``, as in ``lims.reporting.stats``), so a page at province scale
receives a few hundred rows, not 200 000 market-weeks:

* ``ranking`` — tested/passed/failed per county (or per market) over the period;
* ``trend`` — a weekly series for the worst-N and best-N groups by pass rate, the rest summed
  into one "other" series (``OTHER``), and the total per week (= the sum of all series);
* ``heatmap_rows`` — group × week cells for the counties, or the worst-N markets.

Groups: a county is keyed by its name ('' = results without a market); a market by its id
(0 = results without a market).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from lims.errors import InvalidInput
from lims.intake import rollups
from lims.models import Market, TestResult, Vendor
from lims.reporting.stats import (
    FAIL_OUTCOMES,
    PASS_OUTCOMES,
    TrendFilter,
    _full_weeks,
    _market_conds,
    counted,
    partial_ranges,
    wilson_interval,
)

LEVELS = ("county", "market")
OTHER = "__other__"       # the key of the summed rest (a market id is never a string)
NO_MARKET_COUNTY = ""     # county key of results without a market
_M = Market.__table__


def _market_weeks(f: TrendFilter) -> sa.Subquery:
    """(mk, wk, p, fl) per market × week for the filter: whole weeks from rollup_market_week,
    the days of partial edge weeks from rollup_market_day; with a commodity filter from
    test_result. Not grouped across parts (they never overlap)."""
    if f.commodity_ids:
        t = TestResult.__table__.c
        conds = [*counted(t), t.commodity_id.in_(f.commodity_ids),
                 *_market_conds(t.market_id, f)]
        if f.start:
            conds.append(t.count_date >= f.start)
        if f.end:
            conds.append(t.count_date <= f.end)
        passed = sa.func.sum(sa.case((t.verdict.in_(PASS_OUTCOMES), 1), else_=0))
        failed = sa.func.sum(sa.case((t.verdict.in_(FAIL_OUTCOMES), 1), else_=0))
        mk = sa.func.coalesce(t.market_id, 0)
        return (sa.select(mk.label("mk"), t.count_week.label("wk"), passed.label("p"),
                          failed.label("fl")).where(*conds).group_by(mk, t.count_week)
                .subquery("mw"))
    w, d = rollups.W.c, rollups.D.c
    lo, hi = _full_weeks(f)
    conds = _market_conds(w.market_key, f)
    if lo is not None:
        conds.append(w.week_start >= lo)
    if hi is not None:
        conds.append(w.week_start <= hi)
    parts = [sa.select(w.market_key.label("mk"), w.week_start.label("wk"), w.passed.label("p"),
                       w.failed.label("fl")).where(*conds)]
    ranges = partial_ranges(f, lo, hi)
    if lo is not None and hi is not None and lo > hi:   # no whole week inside the period
        parts = []
    for a, b in ranges:
        parts.append(sa.select(d.market_key, d.week_start, sa.func.sum(d.passed),
                               sa.func.sum(d.failed))
                     .where(d.local_date >= a, d.local_date <= b, *_market_conds(d.market_key, f))
                     .group_by(d.market_key, d.week_start))
    q = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    return q.subquery("mw")


def _group_col(level: str, src: sa.Subquery):
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if level == "market":
        return src.c.mk, src
    return (sa.func.coalesce(_M.c.county, NO_MARKET_COUNTY),
            src.outerjoin(_M, _M.c.id == src.c.mk))


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _rates(passed: int, failed: int) -> dict:
    n = passed + failed
    lo, hi = wilson_interval(passed, n)
    return {"tested": n, "passed": passed, "failed": failed,
            "pass_rate": passed / n if n else math.nan, "ci_low": lo, "ci_high": hi}


def _names(conn, level: str, keys) -> dict:
    if level == "county":
        return {k: k for k in keys}
    ids = [k for k in keys if isinstance(k, int) and k]
    out: dict = {0: None}
    for i in range(0, len(ids), 500):
        out.update(conn.execute(sa.select(_M.c.id, _M.c.name)
                                .where(_M.c.id.in_(ids[i:i + 500]))).all())
    return out


def ranking(*, session: Session, filters: TrendFilter, level: str = "county") -> list[dict]:
    """Per county (or market) over the period: key, name (None: no market), tested, passed,
    failed, pass rate and Wilson interval; worst pass rate first (groups with nothing tested
    last)."""
    conn = session.connection()
    src = _market_weeks(filters)
    g, frm = _group_col(level, src)
    rows = conn.execute(sa.select(g, sa.func.sum(src.c.p), sa.func.sum(src.c.fl))
                        .select_from(frm).group_by(g)).all()
    names = _names(conn, level, [k for k, *_ in rows])
    out = [{"key": k, "name": names.get(k), **_rates(int(p or 0), int(fl or 0))}
           for k, p, fl in rows]
    out.sort(key=_worst_first)
    return out


def _worst_first(r: dict):
    rate = r["pass_rate"]
    return (math.isnan(rate), rate if not math.isnan(rate) else 0.0, -r["tested"], str(r["key"]))


def pick(groups: list[dict], n: int) -> tuple[list[dict], list[dict]]:
    """(worst n, best n) of groups ordered worst first; every group with something tested is in
    one of them when there are at most 2n (then the best list is empty)."""
    if n < 1:
        raise InvalidInput("n must be at least 1")
    ranked = [r for r in groups if r["tested"]]
    if len(ranked) <= 2 * n:
        return ranked, []
    return ranked[:n], ranked[-n:]


@dataclass
class Trend:
    level: str
    groups: list[dict]                              # the ranking (every group), worst first
    # key, name, role (worst, best, other; "shown" when every group is a line), rows per week
    series: list[dict] = field(default_factory=list)
    total: list[dict] = field(default_factory=list)    # per week: the sum of every series
    other_groups: int = 0                           # groups summed into the OTHER series


def trend(*, session: Session, filters: TrendFilter, level: str = "county", n: int = 5) -> Trend:
    """Weekly series of the worst-n and best-n counties (or markets) by pass rate over the
    period, the rest summed as one OTHER series, and the total per week; two SQL queries."""
    groups = ranking(session=session, filters=filters, level=level)
    worst, best = pick(groups, n)
    roles = ({r["key"]: "worst" for r in worst} | {r["key"]: "best" for r in best} if best
             else {r["key"]: "shown" for r in worst})   # at most 2n groups: every one a line
    names = {r["key"]: r["name"] for r in groups}
    shown = list(roles)
    src = _market_weeks(filters)
    g, frm = _group_col(level, src)
    if not shown:
        key = sa.literal(OTHER)
    elif len(shown) == len(groups):
        key = g
    else:
        key = sa.case((g.in_(shown), sa.cast(g, sa.String)), else_=sa.literal(OTHER))
    rows = session.connection().execute(
        sa.select(key.label("k"), src.c.wk, sa.func.sum(src.c.p), sa.func.sum(src.c.fl))
        .select_from(frm).group_by(sa.literal_column("1"), src.c.wk)
        .order_by(sa.literal_column("1"), src.c.wk)).all()
    back = {str(k): k for k in shown}               # CASE made the keys text
    series: dict = {}
    weeks: dict[date, list[int]] = {}
    for k, wk, p, fl in rows:
        k = back.get(str(k), OTHER) if k != OTHER else OTHER
        day = _as_date(wk)
        p, fl = int(p or 0), int(fl or 0)
        s = series.setdefault(k, {"key": k, "name": names.get(k) if k != OTHER else None,
                                  "role": roles.get(k, "other"), "rows": []})
        s["rows"].append({"week_start": day, **_rates(p, fl)})
        acc = weeks.setdefault(day, [0, 0])
        acc[0] += p
        acc[1] += fl
    order = {k: i for i, k in enumerate(shown)}
    out = sorted(series.values(), key=lambda s: order.get(s["key"], len(order)))
    total = [{"week_start": d, **_rates(*weeks[d])} for d in sorted(weeks)]
    return Trend(level, groups, out, total, sum(1 for r in groups if r["key"] not in roles))


def heatmap_rows(*, session: Session, filters: TrendFilter, level: str = "county",
                 limit: int = 50) -> list[dict]:
    """Group × week cells (key, name, week_start, tested, passed, failed, pass_rate, …) for
    every county, or for the ``limit`` markets with the worst pass rate over the period."""
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    groups = ranking(session=session, filters=filters, level=level)
    keep = [r for r in groups if r["tested"]][:limit]
    if not keep:
        return []
    names = {r["key"]: r["name"] for r in keep}
    src = _market_weeks(filters)
    g, frm = _group_col(level, src)
    rows = session.connection().execute(
        sa.select(g, src.c.wk, sa.func.sum(src.c.p), sa.func.sum(src.c.fl)).select_from(frm)
        .where(g.in_(list(names))).group_by(g, src.c.wk).order_by(g, src.c.wk)).all()
    return [{"key": k, "name": names[k], "week_start": _as_date(wk),
             **_rates(int(p or 0), int(fl or 0))} for k, wk, p, fl in rows]


def totals(*, session: Session, filters: TrendFilter) -> dict:
    """Tested, passed, failed, pass rate and interval over the whole filter and period."""
    src = _market_weeks(filters)
    p, fl = session.connection().execute(
        sa.select(sa.func.sum(src.c.p), sa.func.sum(src.c.fl))).one()
    return _rates(int(p or 0), int(fl or 0))


def data_version(*, session: Session) -> tuple:
    """A cheap key that changes whenever what these pages show may have changed: the newest
    result, audit event (corrections, voids, grade changes, reference edits), grade decision,
    market and vendor ids — each one index look-up. Pages key their caches with it."""
    from lims.models import AuditEvent, VendorGradeHistory

    conn = session.connection()
    cols = [TestResult.__table__.c.id, AuditEvent.__table__.c.id,
            VendorGradeHistory.__table__.c.id, _M.c.id, Vendor.__table__.c.id]
    return tuple(conn.execute(sa.select(sa.func.max(c))).scalar() or 0 for c in cols)
