"""Method kind ``lab_quantitative``: a confirmatory result in mg/kg against the MRL (domain.md
§2.4).

The value is converted to the limit's unit and compared in decimal arithmetic: above the MRL →
noncompliant, at or below → compliant (51 μg/kg against an MRL of 0.051 mg/kg is exactly at it).
The MRL comes from the threshold table through ``ctx.limit()``: the edition in force on the test
day, or the one named by ``ctx.standard``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lims.verdicts.core import Limit, Outcome, Verdict, divide, exact, finite, number, text
from lims.verdicts.spec import JudgeContext, MethodKindSpec

RAW_KEYS = ("value",)  # optional: unit (default mg/kg)

UNIT_FACTORS_TO_MG_PER_KG = {"mg/kg": 1.0, "ppm": 1.0, "μg/kg": 1e-3, "ug/kg": 1e-3, "ppb": 1e-3}


def _factor(unit: str) -> Decimal:
    try:
        return exact(UNIT_FACTORS_TO_MG_PER_KG[unit])
    except KeyError:
        raise ValueError(f"unknown concentration unit {unit!r}") from None


def judge_mrl(value: float | None, unit: str, limit: Limit | None, *,
              analyte: str = "", commodity: str = "") -> Verdict:
    """A confirmatory quantitative result against the MRL: value > MRL → noncompliant."""
    if limit is None:
        return Verdict(Outcome.INVALID, rule="mrl.no_limit",
                       reasons=(f"no MRL for {analyte} in {commodity} in the reference data",))
    threshold = {"value": limit.value, "unit": limit.unit, "standard": limit.label,
                 "source": limit.source, "threshold_id": limit.threshold_id}
    if not finite(value):
        return Verdict(Outcome.INVALID, rule="mrl.values", reasons=(f"non-numeric value {value!r}",),
                       threshold=threshold)
    assert value is not None
    if value < 0:
        return Verdict(Outcome.INVALID, rule="mrl.impossible",
                       reasons=(f"negative concentration {value}",), threshold=threshold)
    factor_value, factor_limit = _factor(unit), _factor(limit.unit)
    in_limit_unit = divide(exact(value) * factor_value, factor_limit)  # powers of 10: exact
    mrl = exact(limit.value)
    shown_value = float(in_limit_unit)
    where = f"{analyte} in {commodity}: {text(in_limit_unit)} {limit.unit}"
    if in_limit_unit > mrl:
        return Verdict(Outcome.NONCOMPLIANT, value=shown_value, unit=limit.unit,
                       rule="mrl.exceeds",
                       reasons=(f"{where} > MRL {text(mrl)} {limit.unit} ({limit.label})",),
                       threshold=threshold)
    return Verdict(Outcome.COMPLIANT, value=shown_value, unit=limit.unit, rule="mrl.within",
                   reasons=(f"{where} ≤ MRL {text(mrl)} {limit.unit} ({limit.label})",),
                   threshold=threshold)


def judge(raw: dict[str, Any], params: dict[str, Any], ctx: JudgeContext) -> Verdict:
    """A lab result: ``value`` and optional ``unit``, against the MRL ``ctx.limit()`` finds."""
    commodity = ctx.commodity.name_en if ctx.commodity is not None else ""
    if ctx.analyte is None:
        return judge_mrl(None, "mg/kg", None, analyte="(no analyte)", commodity=commodity)
    return judge_mrl(number(raw, "value"), str(raw.get("unit") or "mg/kg"), ctx.limit(),
                     analyte=ctx.analyte.name_en, commodity=commodity)


KIND = MethodKindSpec(name="lab_quantitative", raw_keys=RAW_KEYS, judge=judge,
                      label_zh="定量确证检测", label_en="Quantitative (lab)")
