"""Management filters (county, markets, commodities, period) that carry across pages.

The widgets keep their values under ``f_*`` keys; ``app.py`` re-stores those keys on every run so
they survive a page change (Streamlit forgets the state of widgets that are not drawn).
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from dashboards import data, identity
from dashboards.i18n import labeller, lang, t
from lims.settings import load_settings
from lims.timeutil import now

KEYS = ("f_county", "f_markets", "f_commodities", "f_period")
ALL = "*"
#: the most markets the markets list offers at once (a province has ~2 000): pick a county first
MARKET_LIMIT = 300
TTL = 600


def local_today() -> date:
    """Today in the configured time zone (the dates results are grouped by)."""
    return now().astimezone(load_settings().timezone).date()


def keep_across_pages() -> None:
    for k in KEYS:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]


def options_key() -> tuple:
    """(database, data version, permission scope): the cache key of the filter options. The
    options do not depend on the role today; it is in the key so that they never could be shared
    across permissions unnoticed."""
    db = data.db_key()
    role = identity.role()
    return (db, data.version(db), role.value if role else "public")


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=32)
def choices(key: tuple) -> tuple[list[str], list[dict]]:
    """(counties, commodities) for the filters."""
    opts = data.filter_options(key[0], key[1])
    return opts["counties"], opts["commodities"]


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=256)
def market_choices(key: tuple, county: str | None, limit: int = MARKET_LIMIT
                   ) -> tuple[dict[int, str], int]:
    """(id → name of the first ``limit`` markets of ``county`` (None: of every county), how many
    markets it has in all)."""
    ms = [m for m in data.filter_options(key[0], key[1])["markets"]
          if county is None or m["county"] == county]
    return {m["id"]: m["name"] for m in ms[:limit]}, len(ms)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=256)
def market_names(key: tuple, ids: tuple[int, ...], county: str | None) -> dict[int, str]:
    """id → name of those of ``ids`` that are markets of ``county`` (None: of any county)."""
    wanted = set(ids)
    return {m["id"]: m["name"] for m in data.filter_options(key[0], key[1])["markets"]
            if m["id"] in wanted and (county is None or m["county"] == county)}


def _markets(box, key: tuple, county: str | None) -> list[int]:
    """The markets multiselect: only the chosen county's markets (at most ``MARKET_LIMIT``,
    with a caption when there are more), plus those already picked there."""
    names, total = market_choices(key, county, MARKET_LIMIT)
    picked = st.session_state.get("f_markets")
    if picked is not None:
        extra = tuple(m for m in picked if m not in names)
        if extra:
            names = names | market_names(key, extra, county)
        st.session_state["f_markets"] = [m for m in picked if m in names]
    out = box.multiselect(t("filter.markets"), list(names), format_func=names.get,
                          key="f_markets", placeholder=t("all"))
    if total > MARKET_LIMIT:
        box.caption(t("filter.markets_limited", shown=MARKET_LIMIT, total=total))
    return out


def render(*, period_default_days: int = 365) -> dict:
    """Draw the filters in the sidebar; return them as a dict for ``data`` functions."""
    key = options_key()
    county_names, commodities = choices(key)
    box = st.sidebar.expander(t("filter.title"), expanded=True)
    counties = [ALL, *county_names]   # ALL, not None: None would mean "nothing picked"
    if st.session_state.get("f_county") not in counties:
        st.session_state["f_county"] = ALL
    county = box.selectbox(t("filter.county"), counties,
                           format_func=labeller(counties, lambda c: t("all") if c == ALL else c),
                           key="f_county")
    county = None if county == ALL else county
    market_ids = _markets(box, key, county)
    name_key = "name_zh" if lang() == "zh" else "name_en"
    com_names = {c["id"]: c[name_key] for c in commodities}
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
