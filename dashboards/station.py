"""The banners of a field station: results the central server has not confirmed yet, and
changes it refused (parked: `lims sync parked`, `lims sync retry`)."""

from __future__ import annotations

import streamlit as st

from dashboards import data
from dashboards.i18n import t


@st.cache_data(ttl=30, show_spinner=False)
def _unsent(db: str) -> int | None:
    """Results and changes (corrections, voids, case steps …) waiting to go up; None when this
    database is not a station."""
    from lims.sync.role import is_station  # light: push imports the calibration maths

    with data.session() as s:
        if not is_station(s):
            return None
        from lims.sync.push import pending_change_count, pending_count

        return pending_count(s) + pending_change_count(s)


@st.cache_data(ttl=30, show_spinner=False)
def _parked(db: str) -> int:
    """Changes the central server refused, parked on this station."""
    from lims.sync.parked import parked_count

    with data.session() as s:
        return parked_count(s)


def banner() -> None:
    n = _unsent(data.db_key())
    if n:
        st.sidebar.warning(t("station.unsent", n=n), icon=":material/cloud_upload:")
    if n is not None:
        parked = _parked(data.db_key())
        if parked:
            st.sidebar.error(t("station.parked", n=parked), icon=":material/block:")
