"""Time-zone aware timestamps: stored in UTC, shown in the configured local zone.

The local zone is the setting ``LIMS_TIMEZONE`` (read by ``lims.settings.load_settings``);
``local_tz()`` returns it. Functions taking ``tz`` default to it at call time, never at import
time, so a process (or a test) that sets ``LIMS_TIMEZONE`` gets its dates in that zone.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from lims.errors import ConfigError, InvalidInput
from lims.settings import load_settings

_ZONES: dict[str, ZoneInfo] = {}


def local_tz() -> ZoneInfo:
    """The configured local time zone: ``load_settings().timezone`` (setting ``LIMS_TIMEZONE``).

    Cached per value of ``LIMS_TIMEZONE``, so it is cheap to call on every use and a test that
    monkeypatches the variable gets the new zone at once. Raises ConfigError on an unknown zone.
    """
    key = os.environ.get("LIMS_TIMEZONE", "")
    tz = _ZONES.get(key)
    if tz is None:
        tz = _ZONES[key] = load_settings().timezone
    return tz


_CLOCK_OFFSETS: dict[str, timedelta] = {}


def _clock_offset() -> timedelta:
    """How far ``LIMS_CLOCK`` moves this process's clock (zero when it is unset).

    ``LIMS_CLOCK`` names the instant the process starts at; from there the clock runs forward at
    the real rate, so timeouts still elapse. Tests and demos use it to pin "today".
    """
    text = os.environ.get("LIMS_CLOCK", "").strip()
    if not text:
        return timedelta(0)
    offset = _CLOCK_OFFSETS.get(text)
    if offset is None:
        try:
            start = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ConfigError(f"LIMS_CLOCK: not an ISO-8601 timestamp: {text!r}") from exc
        if start.tzinfo is None:
            raise ConfigError(f"LIMS_CLOCK: give the time zone, e.g. {text}+08:00")
        offset = _CLOCK_OFFSETS[text] = start - datetime.now(UTC)
    return offset


def now() -> datetime:
    """The current instant, time-zone aware (UTC); ``LIMS_CLOCK`` pins it for tests and demos."""
    return datetime.now(UTC) + _clock_offset()


def aware(value: datetime, tz: ZoneInfo | None = None) -> datetime:
    """Attach ``tz`` (default: ``local_tz()``) to a naive timestamp (it is taken as local time);
    keep aware ones."""
    if value.tzinfo is None:
        return value.replace(tzinfo=tz or local_tz())
    return value


def parse_timestamp(text: str, tz: ZoneInfo | None = None) -> datetime:
    """Parse an ISO-8601 timestamp; a naive one is local time in ``tz`` (default: ``local_tz()``).

    Raises InvalidInput (a ValueError) naming the text when it is not a timestamp.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"not an ISO-8601 timestamp: {text!r}") from exc
    return aware(value, tz)


def local_date(value: datetime, tz: ZoneInfo | None = None) -> date:
    """The day ``value`` falls on in ``tz`` (default: ``local_tz()``)."""
    tz = tz or local_tz()
    return aware(value, tz).astimezone(tz).date()


def week_start(day: date) -> date:
    """Monday of the ISO week holding ``day``."""
    return day - timedelta(days=day.weekday())


class TZDateTime(TypeDecorator):
    """A timestamp with time zone on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC instant as text. Values come back
    aware (UTC) either way; a naive value is refused so no local time is stored by mistake.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise InvalidInput(f"naive datetime {value!r}: timestamps must carry a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def refuse_future(value: datetime, field: str, where: str = "") -> datetime:
    """``value`` unless it lies more than ``LIMS_FUTURE_TOLERANCE_MINUTES`` after now: a typed
    time in the future is a typo or a wrong clock (issue 16). Raises ``ValidationFailed`` naming
    the field (and ``where``: the record it belongs to)."""
    from lims.errors import RowError, ValidationFailed

    latest = now() + timedelta(minutes=load_settings().future_tolerance_minutes)
    if value.tzinfo is not None and value > latest:
        raise ValidationFailed([RowError(where or field, field,
                                         f"{value.isoformat()} is in the future (now "
                                         f"{now().replace(microsecond=0).isoformat()}; "
                                         "LIMS_FUTURE_TOLERANCE_MINUTES)")], where or field)
    return value
