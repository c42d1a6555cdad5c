"""Time-zone aware timestamps: stored in UTC, shown in the configured local zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current instant, time-zone aware (UTC)."""
    return datetime.now(UTC)


def aware(value: datetime, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """Attach ``tz`` to a naive timestamp (it is taken as local time); keep aware ones."""
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value


def parse_timestamp(text: str, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """Parse an ISO-8601 timestamp; a naive one is local time in ``tz``.

    Raises ValueError naming the text when it is not a timestamp.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 timestamp: {text!r}") from exc
    return aware(value, tz)


def local_date(value: datetime, tz: ZoneInfo = DEFAULT_TZ) -> date:
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
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
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
