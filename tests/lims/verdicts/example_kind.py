"""An example method kind that exists only in the tests: a pH strip.

It shows everything a new kind needs: this module (raw keys, a pure judge, ``KIND``) and one
line naming it (``ph_strip = "tests.lims.verdicts.example_kind"``). The reading ``ph`` is
positive when it lies outside [params.low, params.high].
"""

from __future__ import annotations

from typing import Any

from lims.verdicts.core import Outcome, Verdict, exact, finite, number, param
from lims.verdicts.spec import JudgeContext, MethodKindSpec

RAW_KEYS = ("ph",)


def judge(raw: dict[str, Any], params: dict[str, Any], ctx: JudgeContext) -> Verdict:
    low = param(params, "low", ctx.method_code)
    high = param(params, "high", ctx.method_code)
    threshold = {"low": low, "high": high, "unit": "pH"}
    ph = number(raw, "ph")
    if not finite(ph) or not 0 <= ph <= 14:
        return Verdict(Outcome.INVALID, rule="ph_strip.values",
                       reasons=(f"pH {raw.get('ph')!r} is not a reading between 0 and 14",),
                       threshold=threshold)
    inside = exact(low) <= exact(ph) <= exact(high)
    outcome = Outcome.NEGATIVE if inside else Outcome.POSITIVE
    where = "within" if inside else "outside"
    return Verdict(outcome, value=ph, unit="pH", rule=f"ph_strip.{outcome.value}",
                   reasons=(f"pH {ph:g} {where} [{low:g}, {high:g}]",), threshold=threshold)


KIND = MethodKindSpec(name="ph_strip", raw_keys=RAW_KEYS, judge=judge,
                      label_zh="pH 试纸", label_en="pH strip")
