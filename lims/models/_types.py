"""Column helpers shared by the model modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from lims.timeutil import TZDateTime, now


def ts_field(*, nullable: bool = False, index: bool = False, default_now: bool = False) -> Any:
    """A time-zone aware timestamp column."""
    kwargs: dict[str, Any] = {}
    if default_now:
        kwargs["default_factory"] = now
    elif nullable:
        kwargs["default"] = None
    return Field(sa_column=sa.Column(TZDateTime(), nullable=nullable, index=index), **kwargs)


def json_field(*, default_factory=dict, nullable: bool = False) -> Any:
    return Field(default_factory=default_factory, sa_column=sa.Column(sa.JSON, nullable=nullable))


__all__ = ["datetime", "json_field", "ts_field"]
