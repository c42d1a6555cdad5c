"""Management filters (county, markets, commodities, period) that carry across pages.

The widgets keep their values under ``f_*`` keys; ``app.py`` re-stores those keys on every run so
they survive a page change (Streamlit forgets the state of widgets that are not drawn).
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from dashboards import data
from dashboards.i18n import labeller, lang, t
from lims.settings import load_settings
from lims.timeutil import now

KEYS = ("f_county", "f_markets", "f_commodities", "f_period")
ALL = "*"


def local_today() -> date:
    """Today in the configured time zone (the dates results are grouped by)."""
    return now().astimezone(load_settings().timezone).date()


def keep_across_pages() -> None:
    for k in KEYS:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]


def render(*, period_default_days: int = 365) -> dict:
    """Draw the filters in the sidebar; return them as a dict for ``data`` functions."""
    opts = data.filter_options(data.db_key())
    box = st.sidebar.expander(t("filter.title"), expanded=True)
    counties = [ALL, *opts["counties"]]   # ALL, not None: None would mean "nothing picked"
    if st.session_state.get("f_county") not in counties:
        st.session_state["f_county"] = ALL
    county = box.selectbox(t("filter.county"), counties,
                           format_func=labeller(counties, lambda c: t("all") if c == ALL else c),
                           key="f_county")
    county = None if county == ALL else county
    markets = [m for m in opts["markets"] if county is None or m["county"] == county]
    names = {m["id"]: m["name"] for m in markets}
    if "f_markets" in st.session_state:
        st.session_state["f_markets"] = [m for m in st.session_state["f_markets"] if m in names]
    market_ids = box.multiselect(t("filter.markets"), list(names), format_func=names.get,
                                 key="f_markets", placeholder=t("all"))
    name_key = "name_zh" if lang() == "zh" else "name_en"
    com_names = {c["id"]: c[name_key] for c in opts["commodities"]}
    if "f_commodities" in st.session_state:
        st.session_state["f_commodities"] = [c for c in st.session_state["f_commodities"]
                                             if c in com_names]
    commodity_ids = box.multiselect(t("filter.commodities"), list(com_names),
                                    format_func=com_names.get, key="f_commodities",
                                    placeholder=t("all"))
    today = local_today()
    if "f_period" not in st.session_state:
        st.session_state["f_period"] = (today - timedelta(days=period_default_days), today)
    period = box.date_input(t("filter.period"), key="f_period",
                            format="YYYY/MM/DD" if lang() == "zh" else "DD.MM.YYYY")
    start, end = period if isinstance(period, tuple | list) and len(period) == 2 else (None, None)
    return {"county": county, "market_ids": tuple(market_ids),
            "commodity_ids": tuple(commodity_ids), "start": start, "end": end}


def args(f: dict) -> tuple:
    """The filter values in the order the cached ``data`` functions take them."""
    return (f["county"], f["market_ids"], f["commodity_ids"], f["start"], f["end"])
