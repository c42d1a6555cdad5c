"""What a method kind module declares (``MethodKindSpec``) and what its judge is given
(``JudgeContext``).

A method kind module (``lims/verdicts/enzyme.py`` …) defines ``KIND = MethodKindSpec(...)``: the
kind's name as stored in ``method.kind``, the raw keys a reading must carry, the pure judge
``judge(raw, params, ctx) -> Verdict``, its labels, and optionally ``check_params`` used by the
reference-data editor. The registry (``registry.py``) finds the module from one line of
``lims/refdata/method_kinds.toml``.

Nothing here touches the database: the commodity and analyte arrive as plain ``CommodityInfo`` /
``AnalyteInfo`` copies, and the MRL lookup as a callable the caller supplies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from lims.verdicts.core import Limit, Verdict


@dataclass(frozen=True)
class CommodityInfo:
    """What a judge may know about the commodity tested."""

    name_zh: str = ""
    name_en: str = ""
    category: str = ""
    enzyme_interference: bool = False  # inhibits the enzyme on its own (leek, ginger …)

    @classmethod
    def of(cls, row: Any) -> CommodityInfo | None:
        """From a ``Commodity`` row (or anything with the same attributes); None stays None."""
        if row is None or isinstance(row, cls):
            return row
        return _commodity_info(getattr(row, "name_zh", "") or "", getattr(row, "name_en", "") or "",
                               getattr(row, "category", "") or "",
                               bool(getattr(row, "enzyme_interference", False)))

    @property
    def label(self) -> str:
        return f"{self.name_en} ({self.name_zh})" if self.name_zh else self.name_en


@dataclass(frozen=True)
class AnalyteInfo:
    """What a judge may know about the analyte (pesticide) the result is for."""

    name_zh: str = ""
    name_en: str = ""
    pesticide_class: str = ""
    enzyme_blind_spot: bool = False  # enzyme kits do not see it at MRL level (domain.md §2.1)

    @classmethod
    def of(cls, row: Any) -> AnalyteInfo | None:
        """From an ``Analyte`` row (or anything with the same attributes); None stays None."""
        if row is None or isinstance(row, cls):
            return row
        return _analyte_info(getattr(row, "name_zh", "") or "", getattr(row, "name_en", "") or "",
                             getattr(row, "pesticide_class", "") or "",
                             bool(getattr(row, "enzyme_blind_spot", False)))


# One frozen copy per distinct set of values: a batch judges thousands of readings of the same
# few commodities and analytes, and building the copy cost more than the judging itself. Keyed
# by the values, so an edited row gets a new copy.
@lru_cache(maxsize=4096)
def _commodity_info(name_zh: str, name_en: str, category: str, interference: bool) -> CommodityInfo:
    return CommodityInfo(name_zh, name_en, category, interference)


@lru_cache(maxsize=4096)
def _analyte_info(name_zh: str, name_en: str, pesticide_class: str, blind_spot: bool) -> AnalyteInfo:
    return AnalyteInfo(name_zh, name_en, pesticide_class, blind_spot)


@dataclass(frozen=True)
class JudgeContext:
    """Everything beyond the raw values and the method's parameters that a judge may use."""

    method_code: str
    commodity: CommodityInfo | None = None
    analyte: AnalyteInfo | None = None
    on: date | None = None              # the test day (picks the MRL edition in force)
    standard: str | None = None         # a pinned edition, e.g. "GB 2763-2021"
    find_limit: Callable[[], Limit | None] | None = None  # the MRL for this analyte × commodity

    def limit(self) -> Limit | None:
        """The MRL that applies (None when there is no lookup or no row)."""
        return self.find_limit() if self.find_limit is not None else None


#: judge(raw, params, ctx) -> Verdict; pure: no I/O apart from ctx.limit().
Judge = Callable[[dict[str, Any], dict[str, Any], JudgeContext], Verdict]
#: check_params(params, method_code) -> [(parameter, problem), …]; may raise ParameterError.
CheckParams = Callable[[dict[str, Any], str], list[tuple[str, str]]]


@dataclass(frozen=True)
class MethodKindSpec:
    """One method kind: its name, the raw keys a reading needs, and how it is judged."""

    name: str                          # as stored in method.kind, e.g. "enzyme_inhibition"
    raw_keys: tuple[str, ...]          # keys a reading must carry (checked at intake)
    judge: Judge
    label_zh: str
    label_en: str
    check_params: CheckParams | None = None  # extra checks for the reference-data editor
