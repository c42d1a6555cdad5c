"""Method kind ``colloidal_gold``: colloidal-gold immunochromatography strips (domain.md §2.3).

No C line → invalid; T/C compared with the kit's cut-off in the kit's direction: competitive
kits (most small-molecule kits) are positive below the cut-off, sandwich kits at or above it.
T/C is computed in decimal arithmetic on the intensities as read, so a ratio exactly at the
cut-off is at the cut-off; the value is rounded half-up to 4 decimals.
"""

from __future__ import annotations

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

RAW_KEYS = ("t", "c")  # T and C line intensities
# a kit whose params say ``confirmed = false`` (cut-off/direction not from its instructions)
KIT_UNCONFIRMED = ("kit cut-off and direction unconfirmed (placeholder, not from the kit's "
                   "instructions): check them")


def judge_gold(t: float | None, c: float | None, params: dict[str, Any], *,
               method: str = "gold") -> Verdict:
    """Judge a colloidal-gold strip from its T and C line intensities.

    params: ``cutoff`` (T/C), ``direction`` — ``"competitive"`` (T/C below the cut-off →
    positive, the usual small-molecule kit) or ``"sandwich"`` (T/C at or above → positive) —
    and ``min_c`` (a C line below it counts as absent → invalid).
    """
    cutoff = param(params, "cutoff", method)
    min_c = param(params, "min_c", method)
    direction = params.get("direction", "competitive")
    if direction not in ("competitive", "sandwich"):
        raise ParameterError(f"method {method}: direction must be competitive or sandwich, "
                             f"got {direction!r}")
    confirmed = params.get("confirmed", True) is not False
    threshold = {"cutoff": cutoff, "direction": direction, "min_c": min_c, "unit": "T/C",
                 "confirmed": confirmed}
    notes = () if confirmed else (KIT_UNCONFIRMED,)
    if not finite(c) or not finite(t):
        return Verdict(Outcome.INVALID, rule="gold.values",
                       reasons=(f"missing or non-numeric T={t!r} C={c!r}", *notes), threshold=threshold)
    assert t is not None and c is not None
    if t < 0 or c < 0:
        return Verdict(Outcome.INVALID, rule="gold.impossible",
                       reasons=(f"negative line intensity T={t} C={c}", *notes), threshold=threshold)
    if exact(c) < exact(min_c) or c == 0:
        below = f"below {min_c:g}" if exact(c) < exact(min_c) else "is zero"
        return Verdict(Outcome.INVALID, rule="gold.no_control_line",
                       reasons=(f"C line {c:g} {below}: no control line, strip invalid", *notes),
                       threshold=threshold)
    ratio = divide(exact(t), exact(c))
    cut = exact(cutoff)
    value = float(display(ratio, 4))
    if direction == "competitive":
        positive = ratio < cut
        cmp = "<" if positive else "≥"
    else:
        positive = ratio >= cut
        cmp = "≥" if positive else "<"
    outcome = Outcome.POSITIVE if positive else Outcome.NEGATIVE
    return Verdict(outcome, value=value, unit="T/C", rule=f"gold.{direction}.{outcome.value}",
                   reasons=(f"T/C = {t:g}/{c:g} = {shown(ratio, 4, against=(cut,))} {cmp} "
                            f"cut-off {cutoff:g} ({direction} kit) → {outcome.value}", *notes),
                   threshold=threshold)


def judge(raw: dict[str, Any], params: dict[str, Any], ctx: JudgeContext) -> Verdict:
    """A stored or typed-in strip reading: ``t`` and ``c``."""
    return judge_gold(number(raw, "t"), number(raw, "c"), params, method=ctx.method_code)


def check_params(params: dict[str, Any], code: str) -> list[tuple[str, str]]:
    """Problems with a kit's parameters (the judge itself raises ParameterError)."""
    judge_gold(1.0, 1.0, params, method=code)
    problems: list[tuple[str, str]] = []
    if float(params["cutoff"]) <= 0:
        problems.append(("cutoff", "must be positive"))
    if float(params["min_c"]) < 0:
        problems.append(("min_c", "must not be negative"))
    return problems


KIND = MethodKindSpec(name="colloidal_gold", raw_keys=RAW_KEYS, judge=judge,
                      label_zh="胶体金免疫层析法", label_en="Colloidal gold strip",
                      check_params=check_params)
