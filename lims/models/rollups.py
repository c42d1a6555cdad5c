"""Pre-aggregated pass-rate counts, kept exact by lims.intake.rollups (issue 8).

Only results that count (status recorded or accepted) are summed. ``market_key`` is the market id,
or 0 for results without a market (a resident's purchase at an outreach event), so that it can be
part of a primary key on every backend; ``analyte_key`` likewise is the analyte id or 0.
On SQLite the tables are WITHOUT ROWID: rows are stored in primary-key order, so a range of
markets × weeks is read in one pass without a look-up per row.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _key_col() -> sa.Column:
    return sa.Column(sa.Integer, primary_key=True, autoincrement=False)


class RollupMarketWeek(SQLModel, table=True):
    """Counts per market × ISO week: the trend and heatmap read this."""

    __tablename__ = "rollup_market_week"
    __table_args__ = (sa.Index("ix_rollup_market_week_week", "week_start", "market_key"),
                      {"sqlite_with_rowid": False})
    market_key: int = Field(sa_column=_key_col())
    week_start: date = Field(primary_key=True)
    passed: int = 0
    failed: int = 0
    invalid: int = 0


class RollupMarketDay(SQLModel, table=True):
    """Counts per market × local day: the partial weeks at the edges of a date range."""

    __tablename__ = "rollup_market_day"
    __table_args__ = (sa.Index("ix_rollup_market_day_day", "local_date", "market_key"),
                      {"sqlite_with_rowid": False})
    market_key: int = Field(sa_column=_key_col())
    local_date: date = Field(primary_key=True)
    week_start: date
    passed: int = 0
    failed: int = 0
    invalid: int = 0


class RollupCountyItemWeek(SQLModel, table=True):
    """Counts per county × week × commodity × analyte: the commodity × analyte breakdown."""

    __tablename__ = "rollup_county_item_week"
    __table_args__ = (sa.Index("ix_rollup_county_item_week_week", "week_start", "county"),
                      {"sqlite_with_rowid": False})
    county: str = Field(primary_key=True, max_length=100)
    week_start: date = Field(primary_key=True)
    commodity_id: int = Field(sa_column=_key_col())
    analyte_key: int = Field(sa_column=_key_col())
    passed: int = 0
    failed: int = 0
    invalid: int = 0


class RollupItemWeek(SQLModel, table=True):
    """Counts per week × commodity × analyte for the whole province (sum of the county rows)."""

    __tablename__ = "rollup_item_week"
    __table_args__ = ({"sqlite_with_rowid": False},)
    week_start: date = Field(primary_key=True)
    commodity_id: int = Field(sa_column=_key_col())
    analyte_key: int = Field(sa_column=_key_col())
    passed: int = 0
    failed: int = 0
    invalid: int = 0


class RollupVendorWeek(SQLModel, table=True):
    """Counts per vendor (stall) × ISO week of the samples bound to a vendor: sampling coverage
    reads this (issue 17). The key starts with the week, so a range of weeks is one
    contiguous read of the table (SQLite: WITHOUT ROWID); a vendor's rows are found through
    the key too (one seek per week)."""

    __tablename__ = "rollup_vendor_week"
    __table_args__ = ({"sqlite_with_rowid": False},)
    week_start: date = Field(primary_key=True)
    vendor_id: int = Field(sa_column=_key_col())
    passed: int = 0
    failed: int = 0
    invalid: int = 0


class RollupVendorMonth(SQLModel, table=True):
    """Counts per vendor × calendar month (``month_start``: the first day of the sample's
    ``count_date`` month): monthly coverage and the grade-weighted pass rates read this."""

    __tablename__ = "rollup_vendor_month"
    __table_args__ = ({"sqlite_with_rowid": False},)
    month_start: date = Field(primary_key=True)
    vendor_id: int = Field(sa_column=_key_col())
    passed: int = 0
    failed: int = 0
    invalid: int = 0
