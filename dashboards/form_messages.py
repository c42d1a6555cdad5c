"""Form parts shared by the daily-work pages (calibration, QC, meter checks, events): a message
slot under each field, typed local times with future ones refused, and a service's refusal shown
at the field it names (never as an exception box)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import streamlit as st

from dashboards.i18n import t
from lims.errors import LimsError, ValidationFailed
from lims.settings import load_settings
from lims.timeutil import local_tz, now


class FieldErrors:
    """Message slots placed right under their fields; ``show`` fills one (or the last-resort
    slot at the bottom of the form when the field has none)."""

    def __init__(self, aliases: dict[str, str] | None = None):
        self.slots: dict[str, st.delta_generator.DeltaGenerator] = {}
        self.aliases = aliases or {}
        self.count = 0

    def slot(self, field: str) -> None:
        self.slots[field] = st.container()

    def show(self, field: str, message: str) -> None:
        field = self.aliases.get(field, field)
        target = self.slots.get(field) or self.slots.get("_form") or st
        self.count += 1
        target.error(message)

    def show_exc(self, exc: LimsError) -> None:
        """Every row of a ValidationFailed at its field; another refusal at the field its
        message starts with ("outcome: …"), else at the bottom of the form."""
        if isinstance(exc, ValidationFailed):
            for e in exc.errors:
                self.show(e.field, e.message)
            return
        m = re.match(r"\s*([a-z_]+)(?:\[[^\]]*\])?:\s*(.*)", str(exc), re.S)
        if m and self.aliases.get(m.group(1), m.group(1)) in self.slots:
            self.show(m.group(1), m.group(2))
        else:
            self.show("_form", str(exc))

    @property
    def ok(self) -> bool:
        return self.count == 0


def moment_input(label: str, key: str, default: datetime | None = None) -> datetime:
    """A local date and time (two inputs side by side) → an aware datetime."""
    local = (default or now()).astimezone(local_tz())
    c1, c2 = st.columns(2)
    day = c1.date_input(label, value=local.date(), key=f"{key}_day")
    clock = c2.time_input(t("dform.time"), value=time(local.hour, local.minute),
                          key=f"{key}_time", step=timedelta(minutes=1))
    return datetime.combine(day, clock or time(0, 0), tzinfo=local_tz())


def refuse_future(at: datetime, field: str, errors: FieldErrors) -> bool:
    """Show the message at ``field`` and return False when ``at`` lies more than
    LIMS_FUTURE_TOLERANCE_MINUTES ahead of the clock."""
    tolerance = load_settings().future_tolerance_minutes
    if at > now() + timedelta(minutes=tolerance):
        errors.show(field, t("dform.future", minutes=tolerance))
        return False
    return True


def parse_pairs(text: str, errors: FieldErrors, field: str = "readings") -> list[tuple[float, float]]:
    """Lines of two numbers ("100 102" or "100, 102") → pairs; a bad line is shown at ``field``."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = [p for p in re.split(r"[\s,;，；]+", line.strip()) if p]
        if not parts:
            continue
        try:
            if len(parts) != 2:
                raise ValueError
            out.append((float(parts[0]), float(parts[1])))
        except ValueError:
            errors.show(field, t("dform.bad_pair", line=n, text=line.strip()))
    if not out and errors.ok:
        errors.show(field, t("dform.no_pairs"))
    return out
