"""Method kind ``enzyme_inhibition``: spectrophotometric enzyme inhibition (GB/T 5009.199-2003).

Inhibition % = (ΔA0 − ΔAt) / ΔA0 × 100 (domain.md §2.1), computed in decimal arithmetic on the
absorbances as read, so that ΔA0 = 0.565, ΔAt = 0.339 is exactly 40 %. ≥ ``positive_at`` →
positive; within the optional suspicious band [``suspicious_from``, ``positive_at``) →
suspicious; the run is invalid when ΔA0 is below ``min_control_delta`` or the values are
impossible.

The kind's judge adds the warnings that belong to the method, not to one reading: commodities
that inhibit the enzyme on their own (matrix false positives), and that a negative is "not
detected by this method" for the pesticides the kit cannot see at MRL level.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from lims.verdicts.core import (
    Outcome,
    ParameterError,
    Verdict,
    display,
    divide,
    exact,
    finite,
    number,
    param,
    shown,
)
from lims.verdicts.spec import JudgeContext, MethodKindSpec

RAW_KEYS = ("control_delta", "sample_delta")  # ΔA0, ΔAt

BLIND_SPOT_WARNING = ("negative means not detected by this method; it does not show "
                      "compliance for pesticides the kit cannot see at MRL level "
                      "(chlorpyrifos, omethoate, acephate …)")


def inhibition_exact(control_delta: float | str | Decimal,
                     sample_delta: float | str | Decimal) -> Decimal:
    """(ΔA0 − ΔAt) / ΔA0 × 100 in decimal arithmetic on the values as written. ΔA0 > 0."""
    a0, at = exact(control_delta), exact(sample_delta)
    if a0 <= 0:
        raise ValueError(f"control ΔA0 must be positive, got {control_delta}")
    return divide((a0 - at) * 100, a0)


def inhibition_percent(control_delta: float, sample_delta: float) -> float:
    """(ΔA0 − ΔAt) / ΔA0 × 100 as a float (unrounded). ΔA0 must be positive."""
    return float(inhibition_exact(control_delta, sample_delta))


@lru_cache(maxsize=64)
def _cutoffs(max_abs: float, min_control: float, positive_at: float,
             suspicious_from: float | None) -> tuple[Decimal, Decimal, Decimal, Decimal | None]:
    """A method's parameters as exact decimals, read once per parameter set (they are the
    same numbers for every reading of the method)."""
    return (exact(max_abs), exact(min_control), exact(positive_at),
            exact(suspicious_from) if suspicious_from is not None else None)


@lru_cache(maxsize=64)
def _exact_param(value: float) -> Decimal:
    return exact(value)


def judge_enzyme(control_delta: float | None, sample_delta: float | None,
                 params: dict[str, Any], *, method: str = "enzyme") -> Verdict:
    """Judge an enzyme-inhibition reading.

    params: ``positive_at`` (%), ``min_control_delta`` (absorbance), optional
    ``suspicious_from`` (%; the band [suspicious_from, positive_at) is suspicious) and
    ``max_abs_delta`` (absorbance above which a ΔA is physically impossible for the reader).
    Cut-offs are compared with the exact inhibition; the value is rounded half-up to 0.01 %.
    """
    positive_at = param(params, "positive_at", method)
    min_control = param(params, "min_control_delta", method)
    suspicious_from = params.get("suspicious_from")
    if suspicious_from is not None:
        suspicious_from = param(params, "suspicious_from", method)
        if suspicious_from > positive_at:
            raise ParameterError(f"method {method}: suspicious_from {suspicious_from} is above "
                                 f"positive_at {positive_at}")
    max_abs = float(params.get("max_abs_delta", 4.0))
    threshold = {"positive_at": positive_at, "suspicious_from": suspicious_from,
                 "min_control_delta": min_control, "unit": "%"}

    if not finite(control_delta) or not finite(sample_delta):
        return Verdict(Outcome.INVALID, rule="enzyme.values",
                       reasons=(f"missing or non-numeric ΔA0={control_delta!r} ΔAt={sample_delta!r}",),
                       threshold=threshold)
    assert control_delta is not None and sample_delta is not None  # for type checkers
    a0, at = exact(control_delta), exact(sample_delta)   # each number read once
    max_abs_x, min_control_x, pos, sus = _cutoffs(max_abs, min_control, positive_at,
                                                  suspicious_from)
    if abs(a0) > max_abs_x or abs(at) > max_abs_x:
        return Verdict(Outcome.INVALID, rule="enzyme.impossible",
                       reasons=(f"ΔA beyond the reader's range ±{max_abs}: ΔA0={control_delta}, "
                                f"ΔAt={sample_delta}",), threshold=threshold)
    if a0 < min_control_x:
        return Verdict(Outcome.INVALID, rule="enzyme.control_activity",
                       reasons=(f"control ΔA0={control_delta:.3f} is below the minimum "
                                f"{min_control:.3f}: enzyme activity too low, the run is invalid",),
                       threshold=threshold)
    if a0 <= 0:   # (as inhibition_exact: unreachable while min_control_delta is positive)
        raise ValueError(f"control ΔA0 must be positive, got {control_delta}")
    rate = divide((a0 - at) * 100, a0)
    value = float(display(rate, 2))
    cutoffs = (pos,) if sus is None else (pos, sus)
    warnings: list[str] = []
    if sample_delta < 0:
        warnings.append(f"ΔAt={sample_delta} is negative: colour faded, full inhibition assumed "
                        "by the formula")
    rate_txt = shown(rate, 2, against=cutoffs, unit=" %")
    if rate > 100:
        rate_txt += " (> 100 %: sample ΔAt negative)"
    elif rate < 0:
        rate_txt += " (< 0: sample more active than control)"
    if rate < -_exact_param(float(params.get("min_plausible_percent", 50.0))):
        return Verdict(Outcome.INVALID, value=value, unit="%", rule="enzyme.impossible",
                       reasons=(f"inhibition {rate_txt} is implausibly negative: ΔAt={sample_delta} "
                                f"far above ΔA0={control_delta}",), threshold=threshold,
                       warnings=tuple(warnings))
    if rate >= pos:
        return Verdict(Outcome.POSITIVE, value=value, unit="%", rule="enzyme.positive",
                       reasons=(f"inhibition {rate_txt} ≥ {positive_at:g} %",),
                       threshold=threshold, warnings=tuple(warnings))
    if sus is not None and rate >= sus:
        return Verdict(Outcome.SUSPICIOUS, value=value, unit="%", rule="enzyme.suspicious",
                       reasons=(f"inhibition {rate_txt} in the suspicious band "
                                f"[{suspicious_from:g} %, {positive_at:g} %): re-test",),
                       threshold=threshold, warnings=tuple(warnings))
    below = suspicious_from if suspicious_from is not None else positive_at
    return Verdict(Outcome.NEGATIVE, value=value, unit="%", rule="enzyme.negative",
                   reasons=(f"inhibition {rate_txt} < {below:g} %",),
                   threshold=threshold, warnings=tuple(warnings))


def judge(raw: dict[str, Any], params: dict[str, Any], ctx: JudgeContext) -> Verdict:
    """A stored or typed-in reading: the verdict plus the method's matrix and blind-spot
    warnings."""
    v = judge_enzyme(number(raw, "control_delta"), number(raw, "sample_delta"), params,
                     method=ctx.method_code)
    warnings = list(v.warnings)
    commodity = ctx.commodity
    if commodity is not None and commodity.enzyme_interference:
        warnings.append(f"{commodity.label} inhibits the enzyme on its own: a positive may be a "
                        "matrix false positive; confirm in the lab")
    if v.outcome is Outcome.NEGATIVE:
        analyte = ctx.analyte
        if analyte is not None and analyte.enzyme_blind_spot:
            warnings.append(f"negative means not detected by this method; the kit cannot see "
                            f"{analyte.name_en} ({analyte.name_zh}) at MRL level: it does not "
                            "show compliance")
        else:
            warnings.append(BLIND_SPOT_WARNING)
    return Verdict(v.outcome, v.value, v.unit, v.rule, v.reasons, v.threshold,
                   tuple(warnings))   # (as dataclasses.replace, without its overhead)


def check_params(params: dict[str, Any], code: str) -> list[tuple[str, str]]:
    """Problems with an enzyme method's parameters (the judge itself raises ParameterError)."""
    judge_enzyme(0.5, 0.2, params, method=code)
    problems: list[tuple[str, str]] = []
    pos = float(params["positive_at"])
    if not 0 < pos <= 100:
        problems.append(("positive_at", f"must be in (0, 100] %, got {pos}"))
    if params.get("suspicious_from") is not None and \
            not 0 <= float(params["suspicious_from"]) < pos:
        problems.append(("suspicious_from", "must be at least 0 and below positive_at"))
    if float(params["min_control_delta"]) <= 0:
        problems.append(("min_control_delta", "must be positive"))
    return problems


KIND = MethodKindSpec(name="enzyme_inhibition", raw_keys=RAW_KEYS, judge=judge,
                      label_zh="酶抑制率法", label_en="Enzyme inhibition",
                      check_params=check_params)
