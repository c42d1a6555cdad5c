"""The shape every verification gives back: named checks, each pass/fail with its numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: tolerance for comparing an error with its limit (binary floating point: 0.1 + 0.2 ≠ 0.3).
#: Relative to the limit; far below any reading resolution, so "exactly at the MPE" passes.
REL_TOL = 1e-9


def within(value: float, limit: float) -> bool:
    """|value| ≤ limit, allowing for floating-point representation only."""
    return abs(value) <= limit + REL_TOL * max(1.0, abs(limit))


def at_most(value: float, limit: float) -> bool:
    return value <= limit + REL_TOL * max(1.0, abs(limit))


def at_least(value: float, limit: float) -> bool:
    return value >= limit - REL_TOL * max(1.0, abs(limit))


def clean(x: Any) -> Any:
    """Round floats for reports (removes 0.30000000000000004 noise), recursively."""
    if isinstance(x, float):
        return x if not math.isfinite(x) else round(x, 10)
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    return x


@dataclass
class Check:
    """One test (or one point of a test): what was compared with what, and the outcome."""

    name: str
    passed: bool
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "message": self.message,
                "numbers": clean(self.numbers)}


@dataclass
class Report:
    """A whole verification: the instrument, the reference data used, and every check."""

    kind: str
    instrument: dict[str, Any]
    reference: dict[str, Any]
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def outcome(self) -> str:
        return "pass" if self.passed else "fail"

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "outcome": self.outcome, "instrument": clean(self.instrument),
                "reference": self.reference, "checks": [c.to_dict() for c in self.checks]}
