"""The verdict engine: how one result is judged from its raw values.

Pure functions, no database and no I/O, so that a technician can read exactly which rule decided a
verdict. Every limit comes in as a parameter (from the method's reference data or the threshold
table); nothing here is a bare constant of the domain.

Rules (see docs in ../shared/docs/domain.md §2):

* enzyme inhibition (GB/T 5009.199-2003): inhibition % = (ΔA0 − ΔAt) / ΔA0 × 100;
  ≥ ``positive_at`` → positive; within the optional suspicious band → suspicious; the run is
  invalid when ΔA0 is below ``min_control_delta`` or the values are impossible;
* enzyme test card: a pad colour unchanged or faintly blue → positive; sky blue like the blank →
  negative;
* colloidal gold: no C line → invalid; T/C compared to the kit's cut-off in the kit's direction;
* quantitative: the value against the MRL of a named standard edition; above the MRL → fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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


class ParameterError(ValueError):
    """A method's parameters are missing or inconsistent (reference data problem)."""


def _param(params: dict[str, Any], name: str, method: str) -> float:
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


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


# --------------------------------------------------------------------------- enzyme inhibition

def inhibition_percent(control_delta: float, sample_delta: float) -> float:
    """(ΔA0 − ΔAt) / ΔA0 × 100. ΔA0 must be positive."""
    if control_delta <= 0:
        raise ValueError(f"control ΔA0 must be positive, got {control_delta}")
    return (control_delta - sample_delta) / control_delta * 100.0


def judge_enzyme(control_delta: float | None, sample_delta: float | None,
                 params: dict[str, Any], *, method: str = "enzyme") -> Verdict:
    """Judge an enzyme-inhibition reading.

    params: ``positive_at`` (%), ``min_control_delta`` (absorbance), optional
    ``suspicious_from`` (%; the band [suspicious_from, positive_at) is suspicious) and
    ``max_abs_delta`` (absorbance above which a ΔA is physically impossible for the reader).
    """
    positive_at = _param(params, "positive_at", method)
    min_control = _param(params, "min_control_delta", method)
    suspicious_from = params.get("suspicious_from")
    if suspicious_from is not None:
        suspicious_from = _param(params, "suspicious_from", method)
        if suspicious_from > positive_at:
            raise ParameterError(f"method {method}: suspicious_from {suspicious_from} is above "
                                 f"positive_at {positive_at}")
    max_abs = float(params.get("max_abs_delta", 4.0))
    threshold = {"positive_at": positive_at, "suspicious_from": suspicious_from,
                 "min_control_delta": min_control, "unit": "%"}

    if not _finite(control_delta) or not _finite(sample_delta):
        return Verdict(Outcome.INVALID, rule="enzyme.values",
                       reasons=(f"missing or non-numeric ΔA0={control_delta!r} ΔAt={sample_delta!r}",),
                       threshold=threshold)
    assert control_delta is not None and sample_delta is not None  # for type checkers
    if abs(control_delta) > max_abs or abs(sample_delta) > max_abs:
        return Verdict(Outcome.INVALID, rule="enzyme.impossible",
                       reasons=(f"ΔA beyond the reader's range ±{max_abs}: ΔA0={control_delta}, "
                                f"ΔAt={sample_delta}",), threshold=threshold)
    if control_delta < min_control:
        return Verdict(Outcome.INVALID, rule="enzyme.control_activity",
                       reasons=(f"control ΔA0={control_delta:.3f} is below the minimum "
                                f"{min_control:.3f}: enzyme activity too low, the run is invalid",),
                       threshold=threshold)
    rate = inhibition_percent(control_delta, sample_delta)
    value = round(rate, 2)
    warnings: list[str] = []
    if sample_delta < 0:
        warnings.append(f"ΔAt={sample_delta} is negative: colour faded, full inhibition assumed "
                        "by the formula")
    if rate > 100.0:
        rate_txt = f"{rate:.2f} % (> 100 %: sample ΔAt negative)"
    elif rate < 0:
        rate_txt = f"{rate:.2f} % (< 0: sample more active than control)"
    else:
        rate_txt = f"{rate:.2f} %"
    if rate < -float(params.get("min_plausible_percent", 50.0)):
        return Verdict(Outcome.INVALID, value=value, unit="%", rule="enzyme.impossible",
                       reasons=(f"inhibition {rate_txt} is implausibly negative: ΔAt={sample_delta} "
                                f"far above ΔA0={control_delta}",), threshold=threshold,
                       warnings=tuple(warnings))
    if rate >= positive_at:
        return Verdict(Outcome.POSITIVE, value=value, unit="%", rule="enzyme.positive",
                       reasons=(f"inhibition {rate_txt} ≥ {positive_at:g} %",),
                       threshold=threshold, warnings=tuple(warnings))
    if suspicious_from is not None and rate >= suspicious_from:
        return Verdict(Outcome.SUSPICIOUS, value=value, unit="%", rule="enzyme.suspicious",
                       reasons=(f"inhibition {rate_txt} in the suspicious band "
                                f"[{suspicious_from:g} %, {positive_at:g} %): re-test",),
                       threshold=threshold, warnings=tuple(warnings))
    return Verdict(Outcome.NEGATIVE, value=value, unit="%", rule="enzyme.negative",
                   reasons=(f"inhibition {rate_txt} < {suspicious_from if suspicious_from is not None else positive_at:g} %",),
                   threshold=threshold, warnings=tuple(warnings))


# --------------------------------------------------------------------------- enzyme test card

CARD_POSITIVE_COLOURS = frozenset({"unchanged", "white", "faint_blue", "浅蓝", "白色", "不变色"})
CARD_NEGATIVE_COLOURS = frozenset({"blue", "sky_blue", "same_as_blank", "天蓝", "蓝色"})


def judge_card(colour: str | None, params: dict[str, Any] | None = None, *,
               method: str = "card", blank_ok: bool = True) -> Verdict:
    """Judge an enzyme test card by the pad's colour compared with the blank card.

    ``colour`` is a word from CARD_POSITIVE_COLOURS / CARD_NEGATIVE_COLOURS (the method's params
    may extend them with ``positive_colours`` / ``negative_colours``). A blank that did not turn
    blue (``blank_ok=False``) makes the test invalid.
    """
    params = params or {}
    pos = CARD_POSITIVE_COLOURS | set(params.get("positive_colours", ()))
    neg = CARD_NEGATIVE_COLOURS | set(params.get("negative_colours", ()))
    if not blank_ok:
        return Verdict(Outcome.INVALID, rule="card.blank",
                       reasons=("the blank card did not turn blue: enzyme inactive, test invalid",))
    word = (colour or "").strip().lower()
    if word in pos:
        return Verdict(Outcome.POSITIVE, rule="card.positive",
                       reasons=(f"pad colour {colour!r}: unchanged or faintly blue compared with "
                                "the blank → inhibited",))
    if word in neg:
        return Verdict(Outcome.NEGATIVE, rule="card.negative",
                       reasons=(f"pad colour {colour!r}: blue like the blank → not inhibited",))
    return Verdict(Outcome.INVALID, rule="card.colour",
                   reasons=(f"unknown pad colour {colour!r}; expected one of "
                            f"{sorted(pos | neg)}",))


# --------------------------------------------------------------------------- colloidal gold

def judge_gold(t: float | None, c: float | None, params: dict[str, Any], *,
               method: str = "gold") -> Verdict:
    """Judge a colloidal-gold strip from its T and C line intensities.

    params: ``cutoff`` (T/C), ``direction`` — ``"competitive"`` (T/C below the cut-off →
    positive, the usual small-molecule kit) or ``"sandwich"`` (T/C at or above → positive) —
    and ``min_c`` (a C line below it counts as absent → invalid).
    """
    cutoff = _param(params, "cutoff", method)
    min_c = _param(params, "min_c", method)
    direction = params.get("direction", "competitive")
    if direction not in ("competitive", "sandwich"):
        raise ParameterError(f"method {method}: direction must be competitive or sandwich, "
                             f"got {direction!r}")
    threshold = {"cutoff": cutoff, "direction": direction, "min_c": min_c, "unit": "T/C"}
    if not _finite(c) or not _finite(t):
        return Verdict(Outcome.INVALID, rule="gold.values",
                       reasons=(f"missing or non-numeric T={t!r} C={c!r}",), threshold=threshold)
    assert t is not None and c is not None
    if t < 0 or c < 0:
        return Verdict(Outcome.INVALID, rule="gold.impossible",
                       reasons=(f"negative line intensity T={t} C={c}",), threshold=threshold)
    if c < min_c:
        return Verdict(Outcome.INVALID, rule="gold.no_control_line",
                       reasons=(f"C line {c:g} below {min_c:g}: no control line, strip invalid",),
                       threshold=threshold)
    ratio = t / c
    value = round(ratio, 4)
    if direction == "competitive":
        positive = ratio < cutoff
        cmp = "<" if positive else "≥"
    else:
        positive = ratio >= cutoff
        cmp = "≥" if positive else "<"
    outcome = Outcome.POSITIVE if positive else Outcome.NEGATIVE
    return Verdict(outcome, value=value, unit="T/C", rule=f"gold.{direction}.{outcome.value}",
                   reasons=(f"T/C = {t:g}/{c:g} = {ratio:.4f} {cmp} cut-off {cutoff:g} "
                            f"({direction} kit) → {outcome.value}",), threshold=threshold)


# --------------------------------------------------------------------------- quantitative vs MRL

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


UNIT_FACTORS_TO_MG_PER_KG = {"mg/kg": 1.0, "ppm": 1.0, "μg/kg": 1e-3, "ug/kg": 1e-3, "ppb": 1e-3}


def judge_mrl(value: float | None, unit: str, limit: Limit | None, *,
              analyte: str = "", commodity: str = "") -> Verdict:
    """A confirmatory quantitative result against the MRL: value > MRL → noncompliant."""
    if limit is None:
        return Verdict(Outcome.INVALID, rule="mrl.no_limit",
                       reasons=(f"no MRL for {analyte} in {commodity} in the reference data",))
    threshold = {"value": limit.value, "unit": limit.unit, "standard": limit.label,
                 "source": limit.source, "threshold_id": limit.threshold_id}
    if not _finite(value):
        return Verdict(Outcome.INVALID, rule="mrl.values", reasons=(f"non-numeric value {value!r}",),
                       threshold=threshold)
    assert value is not None
    if value < 0:
        return Verdict(Outcome.INVALID, rule="mrl.impossible",
                       reasons=(f"negative concentration {value}",), threshold=threshold)
    try:
        factor = UNIT_FACTORS_TO_MG_PER_KG[unit] / UNIT_FACTORS_TO_MG_PER_KG[limit.unit]
    except KeyError as exc:
        raise ValueError(f"unknown concentration unit {exc.args[0]!r}") from None
    in_limit_unit = value * factor
    if in_limit_unit > limit.value:
        return Verdict(Outcome.NONCOMPLIANT, value=in_limit_unit, unit=limit.unit,
                       rule="mrl.exceeds",
                       reasons=(f"{analyte} in {commodity}: {in_limit_unit:g} {limit.unit} > MRL "
                                f"{limit.value:g} {limit.unit} ({limit.label})",),
                       threshold=threshold)
    return Verdict(Outcome.COMPLIANT, value=in_limit_unit, unit=limit.unit, rule="mrl.within",
                   reasons=(f"{analyte} in {commodity}: {in_limit_unit:g} {limit.unit} ≤ MRL "
                            f"{limit.value:g} {limit.unit} ({limit.label})",),
                   threshold=threshold)
