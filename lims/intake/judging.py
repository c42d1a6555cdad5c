"""Apply the verdict engine to a stored method and a raw reading.

The raw dict holds the values as received; the keys per method kind are:

* enzyme_inhibition: ``control_delta`` (ΔA0), ``sample_delta`` (ΔAt)
* test_card: ``colour`` (and optional ``blank_ok``)
* colloidal_gold: ``t``, ``c``
* lab_quantitative: ``value``, optional ``unit`` (default mg/kg)
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lims.models import Analyte, Commodity, Method
from lims.models.enums import MethodKind
from lims.verdicts import Limit, Verdict, judge_card, judge_enzyme, judge_gold, judge_mrl

RAW_KEYS: dict[str, tuple[str, ...]] = {
    MethodKind.ENZYME_INHIBITION: ("control_delta", "sample_delta"),
    MethodKind.TEST_CARD: ("colour",),
    MethodKind.COLLOIDAL_GOLD: ("t", "c"),
    MethodKind.LAB_QUANTITATIVE: ("value",),
}


def _num(raw: dict[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def judge(method: Method, raw: dict[str, Any], *, commodity: Commodity,
          analyte: Analyte | None, on: date, limit_for=None,
          standard: str | None = None) -> Verdict:
    """Judge ``raw`` with ``method``. ``limit_for(analyte, commodity, on, standard)`` finds MRLs."""
    kind = MethodKind(method.kind)
    if kind is MethodKind.ENZYME_INHIBITION:
        v = judge_enzyme(_num(raw, "control_delta"), _num(raw, "sample_delta"), method.params,
                         method=method.code)
        warnings = list(v.warnings)
        if commodity.enzyme_interference:
            warnings.append(f"{commodity.name_en} ({commodity.name_zh}) inhibits the enzyme on its "
                            "own: a positive may be a matrix false positive; confirm in the lab")
        if v.outcome.value == "negative":
            warnings.append("negative means not detected by this method; it does not show "
                            "compliance for pesticides the kit cannot see at MRL level "
                            "(chlorpyrifos, omethoate, acephate …)")
        return Verdict(v.outcome, v.value, v.unit, v.rule, v.reasons, v.threshold, tuple(warnings))
    if kind is MethodKind.TEST_CARD:
        blank_ok = raw.get("blank_ok", True)
        if isinstance(blank_ok, str):
            blank_ok = blank_ok.strip().lower() not in ("false", "0", "no", "否")
        return judge_card(raw.get("colour"), method.params, method=method.code,
                          blank_ok=bool(blank_ok))
    if kind is MethodKind.COLLOIDAL_GOLD:
        return judge_gold(_num(raw, "t"), _num(raw, "c"), method.params, method=method.code)
    # lab quantitative
    if analyte is None:
        return judge_mrl(None, "mg/kg", None, analyte="(no analyte)", commodity=commodity.name_en)
    limit: Limit | None = limit_for(analyte, commodity, on, standard) if limit_for else None
    return judge_mrl(_num(raw, "value"), str(raw.get("unit") or "mg/kg"), limit,
                     analyte=analyte.name_en, commodity=commodity.name_en)
