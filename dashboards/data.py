"""The page layer's reads and writes. Every function goes through lims services; caching stays here.

Cached reads take ``db`` (the database URL, see ``db_key``) and their filters as arguments, so the
cache is keyed by both; ``clear()`` empties every cache after a write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import streamlit as st

from lims.db import get_engine, session_scope
from lims.services import reports, stats


def db_key() -> str:
    """Cache key part: the database in use (so tests with different databases never share)."""
    return get_engine().url.render_as_string(hide_password=True)


@contextmanager
def session() -> Iterator:
    """A session for one write (commits on success); call ``clear()`` afterwards."""
    with session_scope(get_engine()) as s:
        yield s


def clear() -> None:
    st.cache_data.clear()


def trend_filter(f: dict) -> stats.TrendFilter:
    return stats.TrendFilter(county=f.get("county"), market_ids=tuple(f.get("market_ids", ())),
                             commodity_ids=tuple(f.get("commodity_ids", ())),
                             start=f.get("start"), end=f.get("end"))


def _f(county, market_ids, commodity_ids, start, end) -> stats.TrendFilter:
    return stats.TrendFilter(county=county, market_ids=market_ids, commodity_ids=commodity_ids,
                             start=start, end=end)


@st.cache_data(ttl=60, show_spinner=False)
def filter_options(db: str) -> dict:
    with session_scope(get_engine()) as s:
        return stats.filter_options(session=s)


@st.cache_data(ttl=60, show_spinner=False)
def pass_rates(db: str, county: str | None, market_ids: tuple[int, ...],
               commodity_ids: tuple[int, ...], start: date | None, end: date | None) -> list[dict]:
    with session_scope(get_engine()) as s:
        return stats.pass_rate_by_market_week(
            session=s, filters=_f(county, market_ids, commodity_ids, start, end))


@st.cache_data(ttl=60, show_spinner=False)
def breakdown(db: str, by: str, county: str | None, market_ids: tuple[int, ...],
              commodity_ids: tuple[int, ...], start: date | None, end: date | None) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.breakdown(session=s, by=by,
                                 filters=_f(county, market_ids, commodity_ids, start, end))


@st.cache_data(ttl=30, show_spinner=False)
def instrument_status(db: str, on: date) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.instrument_status(session=s, on=on)


@st.cache_data(ttl=30, show_spinner=False)
def held_results(db: str, instrument_id: int | None) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.held_results(session=s, instrument_id=instrument_id)


@st.cache_data(ttl=30, show_spinner=False)
def calibration_history(db: str, instrument_id: int, kinds: tuple[str, ...] = ()) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.calibration_history(session=s, instrument_id=instrument_id, kinds=kinds)


@st.cache_data(ttl=60, show_spinner=False)
def vendors_of(db: str, market_id: int) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.vendors_of(session=s, market_id=market_id)


@st.cache_data(ttl=60, show_spinner=False)
def field_instruments(db: str, market_id: int | None) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.instruments_for_field(session=s, market_id=market_id)


@st.cache_data(ttl=60, show_spinner=False)
def methods(db: str) -> list[dict]:
    from lims.services import reference

    with session_scope(get_engine()) as s:
        return reference.list_methods(session=s)


@st.cache_data(ttl=15, show_spinner=False)
def market_board(db: str, market_id: int, on: date) -> dict:
    with session_scope(get_engine()) as s:
        return reports.market_board(session=s, market_id=market_id, on=on)


@st.cache_data(ttl=120, show_spinner=False)
def outreach(db: str, start: date | None, end: date | None) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.outreach_summary(session=s, start=start, end=end)


def latest_reading(instrument_id: int, since) -> dict | None:
    """Not cached: the field page polls it."""
    with session_scope(get_engine()) as s:
        return reports.latest_reading(session=s, instrument_id=instrument_id, since=since)


def running_figures(on: date, market_id: int | None, event_id: int | None) -> dict:
    with session_scope(get_engine()) as s:
        return reports.running_figures(session=s, on=on, market_id=market_id, event_id=event_id)


@st.cache_data(ttl=60, show_spinner=False)
def recent_events(db: str, on: date) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.recent_events(session=s, on=on)


def record_reading(actor, reading):
    """Store one reading typed in at the stand; returns the ingest ``Stored`` row."""
    from lims.services import ingest
    from lims.services.auth import require

    require(actor, "results.create")
    with session() as s:
        report = ingest.ingest(session=s, readings=[reading])
    clear()
    return report.stored[0]
