"""Read-only aggregations for the app's management, lab and field pages.

Everything is grouped in the database (one GROUP BY per call); Python only shapes the few rows
that come back. Pass/fail counting follows ``lims.reporting.stats`` (held and voided results are
out; suspicious counts as a fail; invalid counts neither way).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from lims.errors import InvalidInput
from lims.intake import gate
from lims.models import (
    Analyte,
    CalibrationRecord,
    Commodity,
    GridGroup,
    Instrument,
    Market,
    Method,
    Sample,
    TestResult,
    Vendor,
)
from lims.models.enums import NOT_SHOWN_STATUSES, CalibrationState
from lims.models.results import IS_HELD
from lims.reporting import stats
from lims.reporting.stats import FAIL_OUTCOMES, PASS_OUTCOMES, TrendFilter, wilson_interval
from lims.timeutil import local_tz, now

_T = TestResult.__table__.c
_M = Market.__table__.c

#: breakdown name → (label columns, the column grouped by)
BREAKDOWNS = ("commodity", "analyte", "method", "county", "grid_group", "market_kind", "market")


def _counts():
    passed = sa.func.sum(sa.case((_T.verdict.in_(PASS_OUTCOMES), 1), else_=0)).label("passed")
    failed = sa.func.sum(sa.case((_T.verdict.in_(FAIL_OUTCOMES), 1), else_=0)).label("failed")
    return passed, failed


def _shape(key, labels: dict, p, fl) -> dict:
    p, fl = int(p or 0), int(fl or 0)
    n = p + fl
    lo, hi = wilson_interval(p, n)
    return {"key": key, **labels, "tested": n, "passed": p, "failed": fl,
            "pass_rate": p / n if n else math.nan, "ci_low": lo, "ci_high": hi}


def breakdown(*, session: Session, filters: TrendFilter, by: str) -> list[dict]:
    """Pass rates grouped by one dimension (see BREAKDOWNS), worst pass rate first.

    Rows carry ``key`` and ``name_zh``/``name_en`` (the same text where the thing has one name).
    Market-side dimensions are summed from the market × week rollups (exact for any period);
    commodity and analyte from the commodity × analyte rollups (whole ISO weeks) unless markets
    are picked; the method has no rollup and is grouped from the results table.
    """
    if by not in BREAKDOWNS:
        raise InvalidInput(f"breakdown 'by' must be one of {', '.join(BREAKDOWNS)}, got {by!r}")
    if by in ("county", "grid_group", "market_kind", "market"):
        out = _by_market_side(session, filters, by)
    elif by in ("commodity", "analyte") and not filters.market_ids:
        out = _by_item(session, filters, by)
    else:
        out = _from_base(session, filters, by)
    out.sort(key=lambda r: (-1 if math.isnan(r["pass_rate"]) else r["pass_rate"], -r["tested"]))
    return out


def _by_market_side(session: Session, filters: TrendFilter, by: str) -> list[dict]:
    rows = stats.market_week_rows(session=session, filters=filters)
    per_market: dict[int | None, list[int]] = {}
    for market_id, _week, p, fl in rows:
        acc = per_market.setdefault(market_id, [0, 0])
        acc[0] += int(p or 0)
        acc[1] += int(fl or 0)
    conn = session.connection()
    g = GridGroup.__table__.c
    markets = {r.id: r for r in conn.execute(
        sa.select(_M.id, _M.name, _M.county, _M.kind, g.id.label("gid"), g.name.label("gname"))
        .outerjoin(GridGroup, _M.grid_group_id == g.id))}
    groups: dict = {}
    for market_id, (p, fl) in per_market.items():
        m = markets.get(market_id)
        if m is None:
            continue   # residents' purchases at events: no market, no county
        key, label = {"county": (m.county, m.county), "market_kind": (m.kind, m.kind),
                      "market": (m.id, m.name), "grid_group": (m.gid, m.gname)}[by]
        if key is None:
            continue
        acc = groups.setdefault(key, [label, 0, 0])
        acc[1] += p
        acc[2] += fl
    return [_shape(k, {"name_zh": lbl, "name_en": lbl}, p, fl) for k, (lbl, p, fl) in groups.items()]


def _by_item(session: Session, filters: TrendFilter, by: str) -> list[dict]:
    groups: dict = {}
    for r in stats.commodity_analyte_breakdown(session=session, filters=filters):
        key = r[f"{by}_id"]
        if key is None:
            continue   # broad screens (no single analyte)
        acc = groups.setdefault(key, [r[f"{by}_zh"], r[f"{by}_en"], 0, 0])
        acc[2] += r["passed"]
        acc[3] += r["failed"]
    return [_shape(k, {"name_zh": zh, "name_en": en}, p, fl)
            for k, (zh, en, p, fl) in groups.items()]


def _from_base(session: Session, filters: TrendFilter, by: str) -> list[dict]:
    passed, failed = _counts()
    q = sa.select(passed, failed).where(*stats._where(filters))
    if by == "commodity":
        c = Commodity.__table__.c
        cols = (c.id, c.name_zh, c.name_en)
        q = q.add_columns(*cols).join_from(TestResult, Commodity, _T.commodity_id == c.id)
    elif by == "analyte":
        a = Analyte.__table__.c
        cols = (a.id, a.name_zh, a.name_en)
        q = q.add_columns(*cols).join_from(TestResult, Analyte, _T.analyte_id == a.id)
    else:
        me = Method.__table__.c
        cols = (me.code, me.name_zh, me.name_en)
        q = q.add_columns(*cols).join_from(TestResult, Method, _T.method_id == me.id)
    q = q.group_by(*cols)
    return [_shape(k, {"name_zh": zh, "name_en": en}, p, fl)
            for p, fl, k, zh, en in session.connection().execute(q)]


def p_chart(rows: list[dict], sigmas: float = 3.0) -> list[dict]:
    """A p-chart of the proportion failing, per market, from market × week rows.

    Each market's centre line is its pooled fail proportion over the period; the limits are
    p̄ ± 3·√(p̄(1−p̄)/nᵢ) for each week's nᵢ (clipped to [0, 1]). ``signal`` is "high" above the
    upper limit, "low" below the lower one, else None.
    """
    by_market: dict[int, list[dict]] = {}
    for r in rows:
        if r["tested"]:
            by_market.setdefault(r["market_id"], []).append(r)
    out = []
    for market_id, rs in by_market.items():
        n_all = sum(r["tested"] for r in rs)
        pbar = sum(r["failed"] for r in rs) / n_all
        for r in rs:
            p = r["failed"] / r["tested"]
            half = sigmas * math.sqrt(pbar * (1 - pbar) / r["tested"])
            ucl, lcl = min(1.0, pbar + half), max(0.0, pbar - half)
            signal = "high" if p > ucl + 1e-12 else ("low" if p < lcl - 1e-12 else None)
            out.append({"market_id": market_id, "market": r["market"], "week_start": r["week_start"],
                        "tested": r["tested"], "failed": r["failed"], "p": p, "centre": pbar,
                        "ucl": ucl, "lcl": lcl, "signal": signal})
    return out


def p_chart_by_market_week(*, session: Session, filters: TrendFilter) -> list[dict]:
    return p_chart(stats.pass_rate_by_market_week(session=session, filters=filters))


def out_of_control(points: list[dict]) -> list[dict]:
    """Markets with at least one week above the upper limit, most signals first."""
    agg: dict[int, dict] = {}
    for p in points:
        a = agg.setdefault(p["market_id"], {"market_id": p["market_id"], "market": p["market"],
                                            "weeks": 0, "high": 0, "low": 0, "centre": p["centre"],
                                            "last_high": None})
        a["weeks"] += 1
        if p["signal"] == "high":
            a["high"] += 1
            a["last_high"] = max(a["last_high"] or p["week_start"], p["week_start"])
        elif p["signal"] == "low":
            a["low"] += 1
    return sorted((a for a in agg.values() if a["high"]), key=lambda a: (-a["high"], a["market"]))


# --------------------------------------------------------------------------- lab

def instrument_status(*, session: Session, on: date | None = None, soon_days: int = 30,
                      ) -> list[dict]:
    """Every active instrument's calibration state today, its due date and held results.

    ``state`` is a CalibrationState value, or "due_soon" when it is OK but due within
    ``soon_days``.
    """
    at = now()
    today = on or at.date()
    instruments = list(session.connection().execute(
        sa.select(Instrument.__table__).where(Instrument.__table__.c.active)
        .order_by(Instrument.__table__.c.serial_no)))
    records = gate.latest_records(session, {i.id for i in instruments})
    held = dict(session.connection().execute(
        sa.select(_T.instrument_id, sa.func.count()).where(_T.status == IS_HELD)
        .group_by(_T.instrument_id)).all())
    markets = dict(session.connection().execute(sa.select(_M.id, _M.name)).all())
    out = []
    for i in instruments:
        recs = records.get(i.id, [])
        state = gate.state_at(recs, at).value
        last = recs[0] if recs else None
        due = last.due_date if last else None
        days_left = (due - today).days if due else None
        if state == CalibrationState.OK.value and days_left is not None and days_left <= soon_days:
            state = "due_soon"
        out.append({"id": i.id, "serial_no": i.serial_no, "model": i.model, "kind": i.kind,
                    "location": i.location, "market": markets.get(i.market_id, ""),
                    "state": state, "last_at": last.performed_at if last else None,
                    "last_outcome": last.outcome if last else None,
                    "last_kind": last.kind if last else None, "due_date": due,
                    "days_left": days_left, "held": int(held.get(i.id, 0))})
    order = {"failed": 0, "overdue": 1, "unknown": 2, "due_soon": 3, "ok": 4}
    out.sort(key=lambda r: (order.get(r["state"], 9), r["serial_no"]))
    return out


def calibration_history(*, session: Session, instrument_id: int, kinds: tuple[str, ...] = (),
                        limit: int = 200) -> list[dict]:
    cr = CalibrationRecord.__table__.c
    q = sa.select(CalibrationRecord.__table__).where(cr.instrument_id == instrument_id)
    if kinds:
        q = q.where(cr.kind.in_(kinds))
    q = q.order_by(cr.performed_at.desc()).limit(limit)
    return [dict(r._mapping) for r in session.connection().execute(q)]


# --------------------------------------------------------------------------- vendor grades

def _vendor_scope(county: str | None, market_ids: tuple[int, ...]):
    v = Vendor.__table__.c
    conds = []
    if market_ids:
        conds.append(v.market_id.in_(market_ids))
    if county:
        conds.append(v.market_id.in_(sa.select(_M.id).where(_M.county == county)))
    return conds


def grade_distribution(*, session: Session, county: str | None = None,
                       market_ids: tuple[int, ...] = ()) -> dict[str, int]:
    """Vendors per current credit grade (A–D)."""
    v = Vendor.__table__.c
    q = (sa.select(v.credit_grade, sa.func.count()).where(*_vendor_scope(county, market_ids))
         .group_by(v.credit_grade))
    return {g: int(n) for g, n in session.connection().execute(q)}


def grade_moves(*, session: Session, start: date | None = None, end: date | None = None,
                county: str | None = None, market_ids: tuple[int, ...] = (),
                limit: int = 500) -> dict:
    """How grades moved: a previous → new count matrix and the latest changes with reasons."""
    from lims.models import VendorGradeHistory

    h = VendorGradeHistory.__table__.c
    v = Vendor.__table__.c
    conds = [h.previous.is_not(None), h.previous != h.grade, *_vendor_scope(county, market_ids)]
    if start:
        conds.append(h.computed_at >= datetime.combine(start, time(0), tzinfo=local_tz()))
    if end:
        conds.append(h.computed_at < datetime.combine(end + timedelta(days=1), time(0),
                                                      tzinfo=local_tz()))
    base = sa.select().select_from(VendorGradeHistory.__table__).join(
        Vendor.__table__, h.vendor_id == v.id).where(*conds)
    matrix = {(p, g): int(n) for p, g, n in session.connection().execute(
        base.add_columns(h.previous, h.grade, sa.func.count()).group_by(h.previous, h.grade))}
    latest = [dict(r._mapping) for r in session.connection().execute(
        base.add_columns(h.computed_at, h.decided_at, h.previous, h.grade, h.reason,
                         h.reason_zh, v.stall, v.name, _M.name.label("market"))
        .join(Market.__table__, v.market_id == _M.id)
        .order_by(h.decided_at.desc(), h.id.desc()).limit(limit))]
    return {"matrix": matrix, "latest": latest}


def qc_series(*, session: Session) -> list[tuple[str, str, str | None]]:
    """Every (instrument serial, control, channel) that has QC values, in one query."""
    from lims.models.calibration import QcControlValue

    q = QcControlValue.__table__.c
    i = Instrument.__table__.c
    rows = session.connection().execute(
        sa.select(i.serial_no, q.control, q.channel).distinct().join_from(
            QcControlValue.__table__, Instrument.__table__, q.instrument_id == i.id)
        .order_by(i.serial_no, q.control, q.channel))
    return [(sn, c, ch) for sn, c, ch in rows]


def names(*, session: Session) -> dict:
    """id → display names for markets, vendor stalls and commodities (for tables)."""
    conn = session.connection()
    c = Commodity.__table__.c
    v = Vendor.__table__.c
    return {"markets": dict(conn.execute(sa.select(_M.id, _M.name)).all()),
            "vendors": {i: f"{stall} {name}".strip() for i, stall, name in
                        conn.execute(sa.select(v.id, v.stall, v.name))},
            "commodities": {i: (zh, en) for i, zh, en in
                            conn.execute(sa.select(c.id, c.name_zh, c.name_en))}}


def verification_queue(*, session: Session, limit: int = 500) -> list[dict]:
    """Results a technician should look at: the instrument's verdict disagrees with ours, or a
    suspicious screen has no re-test yet. Voided results are left out; newest first."""
    c, s, me, i = (Commodity.__table__.c, Sample.__table__.c, Method.__table__.c,
                   Instrument.__table__.c)
    retest = sa.alias(TestResult.__table__, "retest")
    has_retest = sa.exists().where(retest.c.retest_of_id == _T.id)
    why = sa.case((_T.verdict_mismatch, "mismatch"), else_="suspicious").label("why")
    q = (sa.select(_T.id, _T.tested_at, _T.verdict, _T.instrument_verdict, _T.computed_value,
                   _T.computed_unit, _T.status, why, s.code.label("sample"),
                   c.name_zh, c.name_en, me.code.label("method"), i.serial_no,
                   _M.name.label("market"))
         .join_from(TestResult, Sample, _T.sample_id == s.id)
         .join(Commodity, _T.commodity_id == c.id)
         .join(Method, _T.method_id == me.id)
         .outerjoin(Instrument, _T.instrument_id == i.id)
         .outerjoin(Market, _T.market_id == _M.id)
         .where(sa.text("(test_result.verdict_mismatch OR test_result.verdict = 'suspicious')"),
                _T.status.not_in(NOT_SHOWN_STATUSES),
                sa.or_(_T.verdict_mismatch, sa.and_(_T.verdict == "suspicious", ~has_retest)))
         .order_by(_T.tested_at.desc(), _T.id.desc()).limit(limit))
    return [dict(r._mapping) for r in session.connection().execute(q)]
