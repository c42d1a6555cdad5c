"""Form parts for the pages filled in on a phone (patrol log …): a message slot under each
field, a local date-and-time input, and the latest time a form accepts (the clock plus
LIMS_FUTURE_TOLERANCE_MINUTES)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from lims.errors import LimsError, ValidationFailed
from lims.settings import load_settings
from lims.timeutil import local_tz, now


class Slots:
    """Message slots placed right under their fields (``add`` after each widget); ``error``
    fills one, ``show`` puts a service's refusal at the fields it names, anything else in the
    ``general`` slot."""

    def __init__(self, general: str = "_"):
        self.general = general
        self._slots: dict[str, object] = {}
        self._labels: dict[str, str] = {}

    def add(self, label: str, field: str) -> None:
        self._slots[field] = st.container()  # several messages may land on one field
        self._labels[field] = label

    def attach(self, label: str, placeholder, *fields: str) -> None:
        """Use a slot made elsewhere (a field shared by several forms) for ``fields``."""
        for f in fields:
            self._slots[f] = placeholder
            self._labels[f] = label

    def error(self, field: str, message: str) -> None:
        if field not in self._slots:
            field = self.general
        label = self._labels.get(field, "")
        target = self._slots.get(field) or st
        target.error(f"{label}: {message}" if label else message)

    def show(self, exc: LimsError) -> None:
        if isinstance(exc, ValidationFailed):
            for e in exc.errors:
                self.error(e.field, e.message)
        else:
            self.error(self.general, str(exc))


def latest_allowed() -> datetime:
    """The latest instant a typed time may be: now plus LIMS_FUTURE_TOLERANCE_MINUTES."""
    return now() + timedelta(minutes=load_settings().future_tolerance_minutes)


def moment_input(label: str, key: str, optional: bool = False) -> datetime | None:
    """A local date and time side by side → an aware datetime; with ``optional`` the time
    starts empty and an empty time gives None."""
    local = now().astimezone(local_tz())
    c1, c2 = st.columns(2)
    day = c1.date_input(label, value=local.date(), key=f"{key}_day")
    clock = c2.time_input(label, value=None if optional else time(local.hour, local.minute),
                          key=f"{key}_time", step=timedelta(minutes=1),
                          label_visibility="hidden")
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock, tzinfo=local_tz())
