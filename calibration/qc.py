"""Daily quality control: control activity, channel consistency, Levey–Jennings and Westgard.

The control series is one control material on one instrument, in time order. Mean and SD come
from a baseline (the first values, or values the caller marks as baseline); z = (x − mean) / SD.
Westgard rules come from :class:`calibration.refdata.QcRules` (``load_qc()``): a point exceeds
k SD when |z| > k; a run rule fires once per maximal run of consecutive points on one side, and
each violation names its points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calibration.refdata import QcRules, WestgardRule, load_qc
from calibration.report import Check, at_least, at_most, clean


@dataclass(frozen=True)
class Baseline:
    mean: float
    sd: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return clean({"mean": self.mean, "sd": self.sd, "n": self.n})


def baseline(values: Sequence[float], rules: QcRules | None = None) -> Baseline:
    """Mean and sample SD (n − 1) of the baseline values."""
    rules = rules or load_qc()
    v = np.asarray(values, dtype=float)
    if len(v) < rules.baseline_min_values:
        raise ValueError(f"baseline has {len(v)} value(s), need at least "
                         f"{rules.baseline_min_values}")
    if not np.all(np.isfinite(v)):
        raise ValueError("baseline values must be finite numbers")
    sd = float(v.std(ddof=1))
    if sd <= 0:
        raise ValueError("baseline SD is zero: the values do not vary")
    return Baseline(float(v.mean()), sd, len(v))


def z_scores(values: Sequence[float], base: Baseline) -> np.ndarray:
    return (np.asarray(values, dtype=float) - base.mean) / base.sd


@dataclass
class Violation:
    rule: str
    severity: str
    points: list[dict[str, Any]] = field(default_factory=list)  # index, label, value, z

    @property
    def indices(self) -> list[int]:
        return [p["index"] for p in self.points]

    @property
    def message(self) -> str:
        names = ", ".join(str(p["label"]) for p in self.points)
        return f"{self.rule} ({self.severity}): {names}"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message,
                "points": clean(self.points)}


def _runs(mask: np.ndarray) -> list[list[int]]:
    runs, cur = [], []
    for i, m in enumerate(mask):
        if m:
            cur.append(i)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


def _apply(rule: WestgardRule, z: np.ndarray) -> list[list[int]]:
    if rule.kind == "single":
        return [[i] for i in np.flatnonzero(np.abs(z) > rule.sd)]
    if rule.kind == "run_same_side":
        hits = []
        for mask in (z > rule.sd, z < -rule.sd):
            hits += [r for r in _runs(mask) if len(r) >= rule.count]
        return sorted(hits)
    # range: consecutive points on opposite sides beyond ±sd (their range exceeds 2·sd SD)
    return [[i, i + 1] for i in range(len(z) - 1)
            if (z[i] > rule.sd and z[i + 1] < -rule.sd) or (z[i] < -rule.sd and z[i + 1] > rule.sd)]


def westgard(values: Sequence[float], base: Baseline, rules: QcRules | None = None,
             labels: Sequence[Any] | None = None) -> list[Violation]:
    """Every rule violation in the series, in rule order, each naming its points."""
    rules = rules or load_qc()
    z = z_scores(values, base)
    labels = list(labels) if labels is not None else [f"#{i + 1}" for i in range(len(z))]
    if len(labels) != len(z):
        raise ValueError(f"{len(labels)} labels for {len(z)} values")
    out = []
    for rule in rules.rules:
        for idx in _apply(rule, z):
            out.append(Violation(rule.name, rule.severity, [
                {"index": int(i), "label": labels[i], "value": float(values[i]), "z": float(z[i])}
                for i in idx]))
    return out


def status_of_last(violations: list[Violation], n: int) -> str:
    """ok / warning / reject for the newest point (what decides today's run)."""
    last = [v for v in violations if n - 1 in v.indices]
    if any(v.severity == "reject" for v in last):
        return "reject"
    if last:
        return "warning"
    return "ok"


def levey_jennings(values: Sequence[float], base: Baseline,
                   labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """Chart data: the centre line, ±1/2/3 SD lines, and each point with its z-score."""
    z = z_scores(values, base)
    labels = list(labels) if labels is not None else [f"#{i + 1}" for i in range(len(z))]
    lines = {"mean": base.mean}
    for k in (1, 2, 3):
        lines[f"+{k}sd"] = base.mean + k * base.sd
        lines[f"-{k}sd"] = base.mean - k * base.sd
    return clean({"baseline": base.to_dict(), "lines": lines,
                  "points": [{"index": i, "label": labels[i], "value": float(values[i]),
                              "z": float(z[i])} for i in range(len(z))]})


def control_check(control_delta: float, rules: QcRules | None = None) -> Check:
    """The control's ΔA0 must reach the minimum enzyme activity, else the run is invalid."""
    rules = rules or load_qc()
    if not math.isfinite(control_delta):
        raise ValueError(f"control ΔA0 is not a number: {control_delta!r}")
    ok = at_least(control_delta, rules.min_control_delta)
    return Check("control ΔA0", ok,
                 f"ΔA0 {control_delta:g} {'≥' if ok else '<'} minimum {rules.min_control_delta:g}"
                 + ("" if rules.min_control_delta_confirmed else " (minimum unconfirmed)"),
                 {"control_delta": control_delta, "minimum": rules.min_control_delta})


def channel_consistency(values: dict[str, float], rules: QcRules | None = None) -> Check:
    """The control ΔA0 read in every channel: largest − smallest within the limit."""
    rules = rules or load_qc()
    if len(values) < 2:
        raise ValueError("channel consistency needs values from at least two channels")
    hi = max(values, key=values.__getitem__)
    lo = min(values, key=values.__getitem__)
    spread = values[hi] - values[lo]
    ok = at_most(spread, rules.channel_max_spread)
    return Check("channel consistency", ok,
                 f"channel {hi} − channel {lo} = {spread:.4g} ({'≤' if ok else '>'} "
                 f"{rules.channel_max_spread:g})",
                 {"channels": dict(values), "spread": spread, "limit": rules.channel_max_spread})
