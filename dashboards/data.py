"""The page layer's reads and writes. Every function goes through lims services; caching stays here.

Cached reads take ``db`` (the database URL, see ``db_key``) and their filters as arguments, so the
cache is keyed by both; ``clear()`` empties every cache after a write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

import streamlit as st

from lims.reporting import drilldown, field_reads, reports, stats
from lims.storage.engine import get_engine, session_scope


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


@st.cache_data(ttl=2, show_spinner=False)
def version(db: str) -> tuple:
    """The data version (``drilldown.data_version``, a few index look-ups): options and names are
    cached under it, so a rerun after a click rereads nothing and a write is seen at once."""
    with session_scope(get_engine()) as s:
        return drilldown.data_version(session=s)


def filter_options(db: str, v: tuple | None = None) -> dict:
    """Counties, markets and commodities, read once per data version ``v`` (default: now's)."""
    return _filter_options(db, version(db) if v is None else v)


@st.cache_data(ttl=600, show_spinner=False, max_entries=8)
def _filter_options(db: str, v: tuple) -> dict:
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
def held_results(db: str, instrument_serial: str | None) -> list[dict]:
    from lims.intake import review

    with session_scope(get_engine()) as s:
        return review.held(session=s, instrument_serial=instrument_serial)


@st.cache_data(ttl=30, show_spinner=False)
def calibration_history(db: str, instrument_id: int, kinds: tuple[str, ...] = ()) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.calibration_history(session=s, instrument_id=instrument_id, kinds=kinds)


@st.cache_data(ttl=60, show_spinner=False)
def vendors_of(db: str, market_id: int) -> list[dict]:
    with session_scope(get_engine()) as s:
        return field_reads.vendors_of(session=s, market_id=market_id)


@st.cache_data(ttl=60, show_spinner=False)
def field_instruments(db: str, market_id: int | None) -> list[dict]:
    with session_scope(get_engine()) as s:
        return field_reads.instruments_for_field(session=s, market_id=market_id)


@st.cache_data(ttl=60, show_spinner=False)
def methods(db: str) -> list[dict]:
    from lims.reference import editor as reference

    with session_scope(get_engine()) as s:
        return reference.list_methods(session=s)


@st.cache_data(ttl=15, show_spinner=False)
def market_board(db: str, market_id: int, on: date):
    from lims.field import board

    with session_scope(get_engine()) as s:
        return board.market_board(session=s, market=market_id, on=on)


@st.cache_data(ttl=15, show_spinner=False)
def public_result(db: str, code: str):
    from lims.errors import NotFound
    from lims.field import stand as sampling

    try:
        with session_scope(get_engine()) as s:
            return sampling.public_result(session=s, code=code)
    except NotFound:
        return None


@st.cache_data(ttl=120, show_spinner=False)
def team_report(db: str, year: int, by_month: bool = True) -> list:
    from lims.outreach import events

    with session_scope(get_engine()) as s:
        return events.team_report(session=s, year=year, by_month=by_month)


def latest_reading(instrument_id: int, since) -> dict | None:
    """Not cached: the field page polls it."""
    with session_scope(get_engine()) as s:
        return field_reads.latest_reading(session=s, instrument_id=instrument_id, since=since)


def running_figures(on: date, market_id: int | None, event_id: int | None) -> dict:
    with session_scope(get_engine()) as s:
        return field_reads.running_figures(session=s, on=on, market_id=market_id, event_id=event_id)


@st.cache_data(ttl=60, show_spinner=False)
def recent_events(db: str, on: date) -> list[dict]:
    with session_scope(get_engine()) as s:
        return field_reads.recent_events(session=s, on=on)


def record_field_test(actor, *, card_colour: str, blank_ok: bool = True, **kwargs):
    """A test-card result typed in at the stand (sampling service); clears the caches."""
    from lims.field import stand as sampling

    if blank_ok:
        kwargs["card_colour"] = card_colour
    else:  # the blank did not turn blue: the engine judges the card invalid
        kwargs.update(method=sampling.CARD_METHOD,
                      reading={"colour": card_colour, "blank_ok": False})
    with session() as s:
        out = sampling.record_field_test(session=s, actor=actor, **kwargs)
    clear()
    return out


def public_url(code: str) -> str:
    """The address the on-screen QR shows: signed like the printed slip's, when the sample has
    a result (lims.field.slips.slip_url); else the plain public page."""
    from lims.errors import NotFound
    from lims.field import slips
    from lims.field import stand as sampling

    with session_scope(get_engine()) as s:
        try:
            return slips.slip_url(sampling.public_result(session=s, code=code))
        except NotFound:
            return sampling.public_url(code)


def slip_file(db: str, code: str, kind: str) -> Callable[[], bytes]:
    """A callable for ``st.download_button``: the sample's slip as PNG or PDF, drawn only when
    the button is pressed (empty when the sample has no result)."""
    def build() -> bytes:
        from lims.errors import NotFound
        from lims.field import slips

        try:
            with session_scope(get_engine()) as s:
                make = slips.slip_png if kind == "png" else slips.slip_pdf
                return make(session=s, code=code)
        except NotFound:
            return b""
    return build


def vendor_grade(db: str, vendor_id: int) -> tuple[str, str]:
    """(grade, reason) with the reason in the app's current language."""
    from dashboards.i18n import lang

    return _vendor_grade(db, vendor_id, lang())


@st.cache_data(ttl=30, show_spinner=False)
def _vendor_grade(db: str, vendor_id: int, lang: str) -> tuple[str, str]:
    from lims.enforcement import grades

    with session_scope(get_engine()) as s:
        return grades.current_grade(session=s, vendor_id=vendor_id, lang=lang)


@st.cache_data(ttl=30, show_spinner=False)
def user_count(db: str) -> int:
    from lims.security import users

    with session_scope(get_engine()) as s:
        return users.count_users(session=s)


@st.cache_data(ttl=60, show_spinner=False)
def qc_series(db: str) -> list[tuple[str, str, str | None]]:
    with session_scope(get_engine()) as s:
        return reports.qc_series(session=s)


@st.cache_data(ttl=60, show_spinner=False)
def qc_check(db: str, serial_no: str, control: str, channel: str | None) -> dict:
    from lims.metrology import calibration

    with session_scope(get_engine()) as s:
        return calibration.qc_check(session=s, serial_no=serial_no, control=control,
                                    channel=channel)


@st.cache_data(ttl=30, show_spinner=False)
def cases(db: str, status: str | None) -> list[dict]:
    from lims.enforcement import cases as svc

    with session_scope(get_engine()) as s:
        return [c.model_dump() for c in svc.list_cases(session=s, status=status)]


@st.cache_data(ttl=30, show_spinner=False)
def case_view(db: str, case_id: int):
    from lims.enforcement import cases as svc

    with session_scope(get_engine()) as s:
        return svc.case_view(session=s, case_id=case_id)


def names(db: str) -> dict:
    """id → name maps for markets, vendors (stall) and commodities (zh, en)."""
    return _names(db, version(db))


@st.cache_data(ttl=600, show_spinner=False, max_entries=4)
def _names(db: str, v: tuple) -> dict:
    with session_scope(get_engine()) as s:
        return reports.names(session=s)


@st.cache_data(ttl=60, show_spinner=False)
def grades(db: str, county: str | None, market_ids: tuple[int, ...], start: date | None,
           end: date | None) -> tuple[dict, dict]:
    with session_scope(get_engine()) as s:
        return (reports.grade_distribution(session=s, county=county, market_ids=market_ids),
                reports.grade_moves(session=s, start=start, end=end, county=county,
                                    market_ids=market_ids))


@st.cache_data(ttl=60, show_spinner=False)
def sampling_plan(db: str, market_id: int | None) -> list:
    from lims.enforcement import grades as svc

    with session_scope(get_engine()) as s:
        return svc.sampling_plan(session=s, market_id=market_id)


@st.cache_data(ttl=60, show_spinner=False)
def alert_report(db: str, year: int) -> list:
    from lims.enforcement import alerts

    with session_scope(get_engine()) as s:
        return alerts.response_report(session=s, year=year)


@st.cache_data(ttl=60, show_spinner=False)
def case_handling(db: str, year: int) -> list:
    from lims.enforcement import scoring

    with session_scope(get_engine()) as s:
        return scoring.handling_report(session=s, year=year)


@st.cache_data(ttl=60, show_spinner=False)
def agreement(db: str, start: date | None, end: date | None) -> list:
    from lims.reporting import agreement as svc

    with session_scope(get_engine()) as s:
        return svc.agreement_report(session=s, start=start, end=end)


def evaluation_limits(db: str):
    """The rapid-method evaluation limits (lims/refdata/rapid_evaluation.toml)."""
    from lims.reporting import agreement as svc

    return svc.read_evaluation_limits()


def market_week_rows(f: dict) -> list[dict]:
    """Market × week pass rates for the page filters, with results that have no market (a
    resident's purchase at an outreach event) labelled as such and listed last."""
    from dashboards.filters import args
    from dashboards.i18n import t

    rows = pass_rates(db_key(), *args(f))
    named = [r for r in rows if r["market_id"] is not None]
    loose = [r | {"market": t("market.none")} for r in rows if r["market_id"] is None]
    return named + loose


@st.cache_data(ttl=300, show_spinner=False)
def certificate(db: str, record_id: int) -> bytes | None:
    """The calibration certificate PDF of a passing record (None when it cannot be issued)."""
    import tempfile
    from pathlib import Path

    from lims.errors import LimsError
    from lims.metrology import certificate as svc

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "certificate.pdf"
        try:
            with session_scope(get_engine()) as s:
                svc.write_certificate(session=s, record_id=record_id, out=out)
        except LimsError:
            return None
        return out.read_bytes()


@st.cache_data(ttl=30, show_spinner=False)
def verification_queue(db: str) -> list[dict]:
    with session_scope(get_engine()) as s:
        return reports.verification_queue(session=s)


def register_sample(actor, **kwargs):
    """Register a sample at the stall (lims.field.samples); returns it with its code."""
    from lims.field.samples import register_sample as register

    with session() as s:
        out = register(session=s, actor=actor, **kwargs)
    clear()
    return out


def sample_labels(codes: list[str], fmt: str = "58mm") -> bytes:
    """The samples' labels as a PDF (QR + Code 128)."""
    from lims.field.labels import labels_pdf

    with session() as s:
        return labels_pdf(session=s, codes=codes, fmt=fmt)


@st.cache_data(ttl=3, show_spinner=False)
def retest_state(db: str, code: str) -> tuple[str, int] | None:
    """(re-test state, re-tests still needed) of a sample; None when nothing is to re-test."""
    from lims.errors import NotFound
    from lims.intake import retests

    with session_scope(get_engine()) as s:
        try:
            st_ = retests.status(session=s, sample_code=code)
        except NotFound:
            return None
    return (st_.state, st_.remaining) if st_.state else None


@st.cache_data(ttl=5, show_spinner=False)
def needs_setup(db: str) -> bool:
    """A required set-up step is missing (no market, stall or tester yet)."""
    from lims.masterdata.status import needs_setup as missing

    with session_scope(get_engine()) as s:
        return missing(session=s)
