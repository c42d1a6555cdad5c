"""The page layer's cached reads. Every function goes through lims services; caching stays here."""

from __future__ import annotations

from datetime import date

import streamlit as st

from lims.db import get_engine, session_scope
from lims.services import stats


def _session():
    return session_scope(get_engine())


@st.cache_data(ttl=60, show_spinner=False)
def filter_options(db_url: str) -> dict:
    with _session() as s:
        return stats.filter_options(session=s)


@st.cache_data(ttl=60, show_spinner=False)
def pass_rates(db_url: str, county: str | None, market_ids: tuple[int, ...],
               commodity_ids: tuple[int, ...], start: date | None, end: date | None) -> list[dict]:
    f = stats.TrendFilter(county=county, market_ids=market_ids, commodity_ids=commodity_ids,
                          start=start, end=end)
    with _session() as s:
        return stats.pass_rate_by_market_week(session=s, filters=f)


def db_key() -> str:
    """Cache key part: the database in use (so tests with different databases never share)."""
    return get_engine().url.render_as_string(hide_password=True)
