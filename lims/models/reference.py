"""Reference data: where samples come from, what is tested, how and against which limit."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lims.models._types import json_field


class GridGroup(SQLModel, table=True):
    """A supervision grid cell (网格) with its named staff."""

    __tablename__ = "grid_group"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    county: str = Field(max_length=100)
    staff: list[str] = json_field(default_factory=list)
    # master data (issue 13): the code a set-up workbook names it by, its officer and phone
    code: str | None = Field(default=None, max_length=40, unique=True, index=True)
    officer: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=200)  # where alert notices go (issue 15)
    active: bool = True


class Market(SQLModel, table=True):
    __tablename__ = "market"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    county: str = Field(index=True, max_length=100)
    township: str = Field(default="", max_length=100)
    kind: str = Field(max_length=20)  # MarketKind
    grid_group_id: int | None = Field(default=None, foreign_key="grid_group.id", index=True)
    active: bool = True   # false once closed: kept, since results point to it


class Vendor(SQLModel, table=True):
    __tablename__ = "vendor"
    __table_args__ = (sa.UniqueConstraint("market_id", "stall"),)
    id: int | None = Field(default=None, primary_key=True)
    market_id: int = Field(foreign_key="market.id", index=True)
    stall: str = Field(max_length=40)
    name: str = Field(default="", max_length=200)
    licence_no: str = Field(default="", max_length=60)
    credit_grade: str = Field(default="B", max_length=1)  # CreditGrade
    phone: str = Field(default="", max_length=40)
    active: bool = True   # false once the stall closed: kept, since results point to it


class Commodity(SQLModel, table=True):
    __tablename__ = "commodity"
    id: int | None = Field(default=None, primary_key=True)
    name_zh: str = Field(unique=True, max_length=100)
    name_en: str = Field(unique=True, max_length=100)
    # the GB 2763 Annex A group, e.g. "leafy vegetables"; group → category and the Chinese names
    # are in lims/refdata/commodity_groups.csv (read by the MRL lookup)
    category: str = Field(max_length=100)
    enzyme_interference: bool = False  # Chinese chives, ginger, scallion, garlic, chili, carrot


class Analyte(SQLModel, table=True):
    __tablename__ = "analyte"
    id: int | None = Field(default=None, primary_key=True)
    name_zh: str = Field(unique=True, max_length=100)
    name_en: str = Field(unique=True, max_length=100)
    pesticide_class: str = Field(max_length=40)  # organophosphate, carbamate, neonicotinoid …
    # Enzyme-inhibition kits do not see some pesticides at MRL level (domain.md §2.1)
    enzyme_blind_spot: bool = False


class Method(SQLModel, table=True):
    __tablename__ = "method"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name_zh: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    standard: str = Field(max_length=100)   # e.g. "GB/T 5009.199"
    edition: str = Field(max_length=20)     # e.g. "2003"
    kind: str = Field(max_length=30)        # MethodKind
    is_rapid: bool = True
    # a second user must release its results before they count (issue 19, lims.lab.release)
    requires_release: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    analyte_id: int | None = Field(default=None, foreign_key="analyte.id")  # target of a kit
    params: dict[str, Any] = json_field()   # cut-offs, bands, minimum control … with sources
    source: str = Field(default="", max_length=500)


class Threshold(SQLModel, table=True):
    """A limit for an analyte in a commodity (or a commodity category) under a standard edition."""

    __tablename__ = "threshold"
    __table_args__ = (
        sa.UniqueConstraint("analyte_id", "commodity_id", "commodity_category", "standard", "edition"),
    )
    id: int | None = Field(default=None, primary_key=True)
    analyte_id: int = Field(foreign_key="analyte.id", index=True)
    commodity_id: int | None = Field(default=None, foreign_key="commodity.id", index=True)
    commodity_category: str | None = Field(default=None, max_length=100)
    standard: str = Field(max_length=40)   # "GB 2763"
    edition: str = Field(max_length=20)    # "2021"
    value: float
    unit: str = Field(default="mg/kg", max_length=20)
    effective_from: date | None = None
    confirmed: bool = True
    source: str = Field(default="", max_length=500)
    active: bool = True

    @property
    def standard_edition(self) -> str:
        return f"{self.standard}-{self.edition}"
