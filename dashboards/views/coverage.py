"""Management: sampling coverage against the grade plan per county or grid group, and each
market's pass rate re-weighted to its vendor mix (issue 19)."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from dashboards import data, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from lims.enforcement.rules import load_grade_rules
from lims.reporting import coverage, weighting
from lims.reporting.monthly_report import month_bounds
from lims.timeutil import week_start

MAX_WEEKS, MAX_MONTHS = 13, 6   # the stall counts read every result of the range
SHOWN = 50   # weighted rates shown at once: the weakest markets (a province has 2 000)

identity.guard("management")
st.title(t("page.coverage"))
f = filters.render()
end = f["end"] or filters.local_today()
start = f["start"] or end - timedelta(days=365)


@st.cache_data(ttl=120, show_spinner=False)
def _coverage(db: str, period: str, group: str, county: str | None, market_ids: tuple[int, ...],
              start: date, end: date) -> list[coverage.CoverageRow]:
    with data.session() as s:
        return coverage.coverage(session=s, period=period, group=group, county=county,
                                 market_ids=market_ids, start=start, end=end)


@st.cache_data(ttl=120, show_spinner=False)
def _weighted(db: str, county: str | None, market_ids: tuple[int, ...], month: date
              ) -> list[weighting.WeightedRate]:
    first, last = month_bounds(month)
    with data.session() as s:
        return weighting.weighted_pass_rates(session=s, start=first, end=last, county=county,
                                             market_ids=market_ids)


def _months_back(last: date, n: int) -> list[date]:
    out, m = [], last.replace(day=1)
    for _ in range(n):
        out.append(m)
        m = (m - timedelta(days=1)).replace(day=1)
    return out


c1, c2 = st.columns(2)
period = c1.segmented_control(
    t("coverage.period"), coverage.PERIODS, default="month", key="coverage_period",
    format_func=labeller(coverage.PERIODS, lambda p: t(f"coverage.period.{p}"))) or "month"
group = c2.segmented_control(
    t("breakdown.by"), coverage.GROUPS, default="county", key="coverage_group",
    format_func=labeller(coverage.GROUPS, lambda g: t(f"breakdown.{g}"))) or "county"
months = [m for m in _months_back(end, MAX_MONTHS) if month_bounds(m)[1] >= start]
first = (max(start, week_start(end) - timedelta(weeks=MAX_WEEKS - 1)) if period == "week"
         else max(start, months[-1]))
rows = _coverage(data.db_key(), period, group, f["county"], f["market_ids"], first, end)
plan = load_grade_rules().per_month
st.caption(t("coverage.explain", plan=" · ".join(f"{g} {n}" for g, n in sorted(plan.items()))))

if not rows:
    st.info(t("coverage.no_markets"))
else:
    def when(r: coverage.CoverageRow) -> str:
        label = fmt.week(r.start) if r.period == "week" else fmt.month(r.start)
        return f"{label} ({t('coverage.running')})" if r.partial else label

    def line(r: coverage.CoverageRow) -> dict:
        return {t("coverage.when"): when(r),
                t(f"breakdown.{group}"): r.name or t("coverage.no_grid"),
                t("coverage.markets"): f"{r.markets_tested} / {r.markets}",
                t("coverage.market_share"): fmt.pct(r.market_share),
                t("coverage.stalls"): f"{r.stalls_tested} / {r.stalls}",
                t("coverage.stall_share"): fmt.pct(r.stall_share),
                t("coverage.on_plan"): f"{r.stalls_on_plan} / {r.stalls}",
                t("coverage.planned"): fmt.num(r.planned, 1), t("coverage.taken"): r.taken,
                t("coverage.plan_share"): fmt.pct(r.plan_share)}

    # one period at a time (a province has ~100 counties × 13 weeks); the download has them all
    totals = {r.start: r for r in coverage.totals(rows)}
    starts = sorted(totals, reverse=True)
    # the newest finished period first (on the 1st, this month has barely begun)
    done = next((i for i, d in enumerate(starts) if not totals[d].partial), 0)
    pick = st.selectbox(t("coverage.when"), starts, key="coverage_when", index=done,
                        format_func=labeller(starts, lambda d: when(totals[d])))
    shown = totals[pick]
    m1, m2, m3 = st.columns(3)
    m1.metric(t("coverage.market_share"), fmt.pct(shown.market_share))
    m2.metric(t("coverage.stall_share"), fmt.pct(shown.stall_share))
    m3.metric(t("coverage.plan_share"), fmt.pct(shown.plan_share))
    st.dataframe([line(r) for r in rows if r.start == pick], hide_index=True, width="stretch")
    export.buttons(lambda: [line(r) for r in sorted(rows, key=lambda r: r.start, reverse=True)],
                   f"coverage_{period}_{group}", key="coverage")

st.subheader(t("weighted.title"))
st.caption(t("weighted.explain"))
if not months:
    st.info(t("no_data"))
    st.stop()
month = st.selectbox(t("month"), months, format_func=labeller(months, fmt.month),
                     key="weighted_month")
rates = _weighted(data.db_key(), f["county"], f["market_ids"], month)
if not rates:
    st.info(t("no_data"))
    st.stop()


def note(e: weighting.Estimate) -> str:
    if e.status == "partial":
        return t("weighted.partial", grades=", ".join(e.missing))
    return t("weighted.no_data") if e.status == "no_data" else ""


def interval(lo: float | None, hi: float | None) -> str:
    return f"{fmt.pct(lo)} – {fmt.pct(hi)}"


def row(r: weighting.WeightedRate) -> dict:
    return {t("market"): r.market, t("tested"): r.tested,
            t("weighted.raw"): fmt.pct(r.raw_rate),
            t("weighted.raw_ci"): interval(r.raw_low, r.raw_high),
            t("weighted.rate"): fmt.pct(r.weighted.rate),
            t("weighted.rate_ci"): interval(r.weighted.low, r.weighted.high),
            t("weighted.strata"): " · ".join(f"{s.grade} {s.passed}/{s.tested} ({s.vendors})"
                                             for s in r.strata if s.vendors or s.tested),
            t("weighted.note"): note(r.weighted)}


query = st.text_input(t("weighted.search"), key="weighted_q").strip().lower()
found = [r for r in rates if query in r.market.lower()] if query else rates
# the weakest first; markets without enough data for a weighted rate after them
found = sorted(found, key=lambda r: (r.weighted.rate is None, r.weighted.rate or 0.0, r.market))
st.dataframe([row(r) for r in found[:SHOWN]], hide_index=True, width="stretch")
if len(found) > SHOWN:
    st.caption(t("weighted.shown", shown=SHOWN, total=len(found)))
st.caption(t("weighted.strata_help"))
export.buttons(lambda: [row(r) for r in rates], f"weighted_{month:%Y-%m}", key="weighted")
