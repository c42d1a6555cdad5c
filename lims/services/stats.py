"""Aggregations for management: pass rates, grouped in the database.

What counts: results whose status is recorded or accepted (held and voided results are out);
passes are negative/compliant, fails are positive/noncompliant/suspicious (a suspicious screen is
not a pass until a re-test clears it); invalid results count neither way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from lims.models import Commodity, Market, TestResult
from lims.models.enums import ResultStatus
from lims.verdicts import Outcome

COUNTED_STATUSES = (ResultStatus.RECORDED.value, ResultStatus.ACCEPTED.value)
PASS_OUTCOMES = tuple(o.value for o in Outcome if o.passes is True)
FAIL_OUTCOMES = tuple(o.value for o in Outcome if o.passes is False)


def wilson_interval(passes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion (95 % by default)."""
    if n == 0:
        return (math.nan, math.nan)
    p = passes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class TrendFilter:
    county: str | None = None
    market_ids: tuple[int, ...] = ()
    commodity_ids: tuple[int, ...] = ()
    start: date | None = None
    end: date | None = None  # inclusive


def _where(f: TrendFilter):
    t = TestResult.__table__.c
    conds = [t.status.in_(COUNTED_STATUSES)]
    if f.market_ids:
        conds.append(t.market_id.in_(f.market_ids))
    if f.commodity_ids:
        conds.append(t.commodity_id.in_(f.commodity_ids))
    if f.start:
        conds.append(t.local_date >= f.start)
    if f.end:
        conds.append(t.local_date <= f.end)
    if f.county:
        m = Market.__table__.c
        conds.append(t.market_id.in_(sa.select(m.id).where(m.county == f.county)))
    return conds


def pass_rate_by_market_week(*, session: Session, filters: TrendFilter) -> list[dict]:
    """One row per market × week: tested, passed, failed, pass rate and its Wilson interval."""
    t = TestResult.__table__.c
    passed = sa.func.sum(sa.case((t.verdict.in_(PASS_OUTCOMES), 1), else_=0))
    failed = sa.func.sum(sa.case((t.verdict.in_(FAIL_OUTCOMES), 1), else_=0))
    q = (sa.select(t.market_id, t.week_start, passed.label("passed"), failed.label("failed"))
         .where(*_where(filters)).group_by(t.market_id, t.week_start)
         .order_by(t.market_id, t.week_start))
    rows = session.connection().execute(q).all()
    names = dict(session.connection().execute(
        sa.select(Market.__table__.c.id, Market.__table__.c.name)).all())
    out = []
    for market_id, week, p, fl in rows:
        p, fl = int(p or 0), int(fl or 0)
        n = p + fl
        lo, hi = wilson_interval(p, n)
        out.append({"market_id": market_id, "market": names.get(market_id, "—"),
                    "week_start": week if isinstance(week, date) else date.fromisoformat(str(week)),
                    "tested": n, "passed": p, "failed": fl,
                    "pass_rate": p / n if n else math.nan, "ci_low": lo, "ci_high": hi})
    return out


def filter_options(*, session: Session) -> dict[str, list]:
    """Counties, markets and commodities for the filters."""
    conn = session.connection()
    m = Market.__table__.c
    c = Commodity.__table__.c
    return {
        "counties": [r[0] for r in conn.execute(sa.select(m.county).distinct().order_by(m.county))],
        "markets": [dict(r._mapping) for r in conn.execute(
            sa.select(m.id, m.code, m.name, m.county).order_by(m.county, m.name))],
        "commodities": [dict(r._mapping) for r in conn.execute(
            sa.select(c.id, c.name_zh, c.name_en).order_by(c.name_en))],
    }
