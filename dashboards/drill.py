"""Cached reads of the management pages at province scale (issue 17): county level by default,
the markets of one county on drill-down, vendors page by page.

Every cached function takes ``key`` = (database, data version, permission scope): the data
version (``drilldown.data_version``: newest result, audit event, grade decision, market, vendor)
changes after any write these pages show, so a rerun after a click reuses what was read and a
new result is seen at once; the scope is the user's role, so nothing is shared across
permissions. The TTL is only a safety net.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable

import streamlit as st

from dashboards import data, identity
from dashboards.filters import ALL
from dashboards.i18n import labeller, t
from lims.reporting import drilldown, reports, stats, vendor_table
from lims.storage.engine import get_engine, session_scope

TTL = 600
#: worst-N and best-N groups drawn as their own lines; the rest is one "other" line
TOP_N = 5
HEATMAP_ROWS = (20, 50, 100, 200)


@st.cache_data(ttl=2, show_spinner=False)
def _version(db: str) -> tuple:
    with session_scope(get_engine()) as s:
        return drilldown.data_version(session=s)


def cache_key() -> tuple:
    """(database, data version, permission scope) for the cached reads below."""
    db = data.db_key()
    role = identity.role()
    return (db, _version(db), role.value if role else "public")


def _tf(f: dict) -> stats.TrendFilter:
    return data.trend_filter(f)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def trend(key: tuple, f: stats.TrendFilter, level: str, n: int) -> drilldown.Trend:
    with session_scope(get_engine()) as s:
        return drilldown.trend(session=s, filters=f, level=level, n=n)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def ranking(key: tuple, f: stats.TrendFilter, level: str) -> list[dict]:
    with session_scope(get_engine()) as s:
        return drilldown.ranking(session=s, filters=f, level=level)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def heatmap(key: tuple, f: stats.TrendFilter, level: str, limit: int) -> list[dict]:
    with session_scope(get_engine()) as s:
        return drilldown.heatmap_rows(session=s, filters=f, level=level, limit=limit)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def p_chart_summary(key: tuple, f: stats.TrendFilter) -> tuple[list[dict], dict]:
    """(markets out of control, {market id: name} of every charted market): the p-chart of every
    market is drawn once per data version and only this comes back (200 000 market-weeks
    copied out of the cache on each rerun cost ~0.4 s at 10 M results)."""
    with session_scope(get_engine()) as s:
        points = reports.p_chart(stats.pass_rate_by_market_week(session=s, filters=f))
    names: dict = {}
    for p in points:
        names.setdefault(p["market_id"], p["market"])
    return reports.out_of_control(points), names


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=256)
def p_chart_market(key: tuple, f: stats.TrendFilter, market_id: int | None) -> list[dict]:
    """One market's p-chart points (its centre line is its own, so its weeks are enough)."""
    with session_scope(get_engine()) as s:
        if market_id is None:   # results without a market: only the whole read has them
            rows = [r for r in stats.pass_rate_by_market_week(session=s, filters=f)
                    if r["market_id"] is None]
        else:
            rows = stats.pass_rate_by_market_week(
                session=s, filters=dataclasses.replace(f, market_ids=(market_id,)))
    return reports.p_chart(rows)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def grades(key: tuple, county, market_ids: tuple[int, ...], start, end) -> tuple[dict, dict]:
    with session_scope(get_engine()) as s:
        return (reports.grade_distribution(session=s, county=county, market_ids=market_ids),
                reports.grade_moves(session=s, start=start, end=end, county=county,
                                    market_ids=market_ids, limit=200))


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def vendor_count(key: tuple, q: vendor_table.VendorQuery) -> int:
    with session_scope(get_engine()) as s:
        return vendor_table.count(session=s, query=q)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def vendor_page(key: tuple, q: vendor_table.VendorQuery, offset: int, limit: int) -> list[dict]:
    with session_scope(get_engine()) as s:
        return vendor_table.page(session=s, query=q, offset=offset, limit=limit)


def vendor_csv(q: vendor_table.VendorQuery, header: list[str],
               row: Callable[[dict], list]) -> Callable[[], bytes]:
    """A callable for ``st.download_button``: runs only when the button is pressed, reading the
    vendors chunk by chunk (never the whole list per rerun)."""
    from lims.files.tabular import escape

    def build() -> bytes:
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow([escape(h) for h in header])
        with session_scope(get_engine()) as s:
            for r in vendor_table.iter_all(session=s, query=q):
                w.writerow([escape(v) if isinstance(v, str) else v for v in row(r)])
        return ("\ufeff" + out.getvalue()).encode()

    return build


def drill_level(f: dict, key: str) -> tuple[stats.TrendFilter, str]:
    """The filter and level a page shows: the markets picked in the sidebar; else the markets
    of one county (the sidebar's, or the one picked here); else every county."""
    tf = _tf(f)
    if f["market_ids"]:
        return tf, "market"
    if f["county"]:
        return tf, "market"
    counties = [ALL, *data.filter_options(data.db_key())["counties"]]
    if st.session_state.get(key) not in counties:
        st.session_state[key] = ALL
    county = st.selectbox(t("drill.county"), counties, key=key,
                          format_func=labeller(counties,
                                               lambda c: t("drill.all_counties") if c == ALL
                                               else c))
    if county == ALL:
        return tf, "county"
    return stats.TrendFilter(county=county, commodity_ids=tf.commodity_ids, start=tf.start,
                             end=tf.end), "market"


def group_label(level: str, key, name) -> str:
    if key == drilldown.OTHER:
        return t("drill.other")
    if level == "county":
        return key or t("market.none")
    return name or t("market.none")
