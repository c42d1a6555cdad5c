"""Method kind ``lab_quantitative``: a confirmatory result in mg/kg against the MRL (domain.md
§2.4).

The value is converted to the limit's unit and compared in decimal arithmetic: above the MRL →
noncompliant, at or below → compliant (51 μg/kg against an MRL of 0.051 mg/kg is exactly at it).
The MRL comes from the threshold table through ``ctx.limit()``: the edition in force on the test
day, or the one named by ``ctx.standard``. When the lookup returns an ``MrlLimit`` (it does:
``lims.reference.lookup.find_limit``) the verdict also says

* "(limit unconfirmed: check the standard)" after the comparison when the row is not confirmed;
* "limit for 叶菜类蔬菜 (group) used for 菠菜 (spinach)" when the row is the commodity's group's
  or category's (GB 2763 Annex A) rather than its own;
* "… is banned on vegetables (notice)" for a pesticide banned on vegetables, tested in one (the
  limit still decides the verdict).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lims.verdicts.core import Limit, Outcome, Verdict, divide, exact, finite, number, text
from lims.verdicts.spec import JudgeContext, MethodKindSpec

RAW_KEYS = ("value",)  # optional: unit (default mg/kg)

UNIT_FACTORS_TO_MG_PER_KG = {"mg/kg": 1.0, "ppm": 1.0, "μg/kg": 1e-3, "ug/kg": 1e-3, "ppb": 1e-3}


UNCONFIRMED_SUFFIX = " (limit unconfirmed: check the standard)"


@dataclass(frozen=True)
class MrlLimit(Limit):
    """A ``Limit`` with what the threshold lookup knows about the row it chose."""

    confirmed: bool = True
    scope: str = "commodity"      # commodity | group | category: which row was used
    scope_name: str = ""          # the group or category, e.g. "叶菜类蔬菜"
    used_for: str = ""            # the commodity judged, e.g. "菠菜 (spinach)"
    banned_on_vegetables: bool = False  # the pesticide is banned and the commodity a vegetable
    banned_notice: str = ""       # the notice that bans it, e.g. "农业部公告第199号"


def _limit_notes(limit: Limit, analyte: str) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """(suffix of the comparison, extra reasons, extra threshold fields) for ``limit``."""
    confirmed = bool(getattr(limit, "confirmed", True))
    scope = getattr(limit, "scope", "commodity")
    extra: list[str] = []
    if scope in ("group", "category"):
        extra.append(f"limit for {limit.scope_name} ({scope}) used for {limit.used_for}")
    banned = bool(getattr(limit, "banned_on_vegetables", False))
    if banned:
        notice = getattr(limit, "banned_notice", "")
        extra.append(f"{analyte} is banned on vegetables" + (f" ({notice})" if notice else ""))
    fields = {"confirmed": confirmed, "scope": scope,
              "scope_name": getattr(limit, "scope_name", ""),
              "banned_on_vegetables": banned}
    return ("" if confirmed else UNCONFIRMED_SUFFIX), tuple(extra), fields


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
    suffix, notes, fields = _limit_notes(limit, analyte)
    threshold = {"value": limit.value, "unit": limit.unit, "standard": limit.label,
                 "source": limit.source, "threshold_id": limit.threshold_id, **fields}
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
                       reasons=(f"{where} > MRL {text(mrl)} {limit.unit} ({limit.label})"
                                f"{suffix}", *notes),
                       threshold=threshold)
    return Verdict(Outcome.COMPLIANT, value=shown_value, unit=limit.unit, rule="mrl.within",
                   reasons=(f"{where} ≤ MRL {text(mrl)} {limit.unit} ({limit.label}){suffix}",
                            *notes),
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
