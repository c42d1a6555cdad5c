"""What every method kind shares: outcomes, the Verdict record, limits and exact numbers.

* ``Outcome`` and ``OUTCOME_WORDS`` / ``parse_outcome`` / ``same_meaning`` — the verdict words and
  how an instrument's word is compared with ours;
* ``Verdict`` — one judged result with the rule that decided it, its reasons and warnings;
* ``Limit`` — an MRL with its standard edition (passed in from the threshold table);
* ``ParameterError`` and ``param`` — a method's parameters read and checked;
* ``exact`` / ``number`` / ``finite`` / ``display`` — numbers as received, compared exactly.

Cut-offs are compared in decimal arithmetic on the numbers as written (``Decimal(str(x))``): a
reading of exactly 40 % is 40 %, not the 39.999… % binary floating point makes of it. The value
stored and shown is a float rounded half-up to the displayed precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    NEGATIVE = "negative"          # 阴性 (rapid)
    SUSPICIOUS = "suspicious"      # 可疑 (rapid; re-test)
    POSITIVE = "positive"          # 阳性 (rapid)
    INVALID = "invalid"            # 无效
    COMPLIANT = "compliant"        # 合格 (quantitative, ≤ MRL)
    NONCOMPLIANT = "noncompliant"  # 不合格 (quantitative, > MRL)

    @property
    def passes(self) -> bool | None:
        """True for a pass, False for a fail, None when it counts neither way (invalid)."""
        if self in (Outcome.NEGATIVE, Outcome.COMPLIANT):
            return True
        if self in (Outcome.POSITIVE, Outcome.NONCOMPLIANT, Outcome.SUSPICIOUS):
            return False
        return None


#: Words instruments and testers use for each outcome (Chinese and English), for parsing.
OUTCOME_WORDS: dict[str, Outcome] = {
    "阴性": Outcome.NEGATIVE, "negative": Outcome.NEGATIVE, "neg": Outcome.NEGATIVE,
    "-": Outcome.NEGATIVE,
    "阳性": Outcome.POSITIVE, "positive": Outcome.POSITIVE, "pos": Outcome.POSITIVE,
    "+": Outcome.POSITIVE,
    "可疑": Outcome.SUSPICIOUS, "suspicious": Outcome.SUSPICIOUS, "弱阳性": Outcome.SUSPICIOUS,
    "无效": Outcome.INVALID, "invalid": Outcome.INVALID,
    "合格": Outcome.COMPLIANT, "compliant": Outcome.COMPLIANT, "pass": Outcome.COMPLIANT,
    "不合格": Outcome.NONCOMPLIANT, "noncompliant": Outcome.NONCOMPLIANT,
    "fail": Outcome.NONCOMPLIANT,
}


def parse_outcome(word: str) -> Outcome:
    """Map an instrument's or a tester's verdict word to an Outcome; ValueError names the word."""
    key = word.strip().lower()
    try:
        return OUTCOME_WORDS[key] if key in OUTCOME_WORDS else Outcome(key)
    except ValueError:
        raise ValueError(f"unknown verdict word {word!r}") from None


def same_meaning(computed: Outcome, reported: Outcome) -> bool:
    """Whether an instrument's verdict agrees with ours.

    Instruments that print 合格/不合格 for a rapid screen mean negative/positive.
    """
    if computed == reported:
        return True
    return computed.passes is not None and computed.passes == reported.passes and (
        Outcome.SUSPICIOUS not in (computed, reported)
    )


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    value: float | None = None          # inhibition %, T/C ratio, mg/kg …
    unit: str | None = None
    rule: str = ""                      # which rule decided
    reasons: tuple[str, ...] = ()       # human-readable, with the numbers
    threshold: dict[str, Any] | None = None  # the limit used, with its standard edition
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "value": self.value,
            "unit": self.unit,
            "rule": self.rule,
            "reasons": list(self.reasons),
            "threshold": self.threshold,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Limit:
    """An MRL with where it comes from (passed in from the threshold table)."""

    value: float
    unit: str
    standard: str    # "GB 2763"
    edition: str     # "2021"
    source: str = ""
    threshold_id: int | None = None

    @property
    def label(self) -> str:
        return f"{self.standard}-{self.edition}"


class ParameterError(ValueError):
    """A method's parameters are missing or inconsistent (reference data problem)."""


def param(params: dict[str, Any], name: str, method: str) -> float:
    """A required numeric parameter of a method; ParameterError names the method and the name."""
    try:
        value = float(params[name])
    except KeyError:
        raise ParameterError(f"method {method}: parameter {name!r} is missing") from None
    except (TypeError, ValueError):
        raise ParameterError(f"method {method}: parameter {name!r} is not a number: "
                             f"{params[name]!r}") from None
    if not math.isfinite(value):
        raise ParameterError(f"method {method}: parameter {name!r} is not finite")
    return value


def finite(value: Any) -> bool:
    """A real, finite number (bools and strings are not)."""
    return (value is not None and isinstance(value, int | float | Decimal)
            and not isinstance(value, bool) and math.isfinite(value))


def exact(value: float | int | str | Decimal) -> Decimal:
    """The number as written: ``exact(0.339)`` is Decimal('0.339'), not the binary fraction."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def display(value: Decimal, places: int) -> Decimal:
    """``value`` rounded half-up (四舍五入) to ``places`` decimals, as shown and stored."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)


def divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator`` to 34 significant digits, whatever the thread's context says."""
    return _CONTEXT.divide(numerator, denominator)


def text(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 0.0600 → '0.06', 1E+3 → '1000'."""
    return f"{value.normalize():f}"


def shown(value: Decimal, places: int, *, against: tuple[Decimal, ...] = (),
          unit: str = "") -> str:
    """``value`` as text with ``places`` decimals and its unit; when the rounded text would equal
    one of the cut-offs ``against`` but the exact value does not, the unrounded value follows in
    brackets, so that a reason never reads like "40.00 % < 40 %" without saying why."""
    rounded = display(value, places)
    out = f"{rounded:.{places}f}{unit}"
    if rounded in against and value != rounded:
        more = display(value, places + 6)
        out += f" (unrounded {text(more)}{'…' if more != value else ''}{unit})"
    return out


def number(raw: dict[str, Any], key: str) -> float | None:
    """A raw value as a float, or None when it is missing or not a number."""
    value = raw.get(key)
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None
