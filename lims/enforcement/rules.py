"""Reference data of the enforcement workflows, read from TOML files with their sources.

``lims/refdata/enforcement.toml``: the objection window (Food Safety Law art. 88), the alert
response target, which verdicts open cases and raise alerts, the disposal vocabulary.
``lims/refdata/credit_grades.toml``: the vendor grading rules and sampling frequencies.

Both are editable; a bad file raises ConfigError (lims.errors) naming the file and the field.
"""

from __future__ import annotations

import functools
import operator
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lims.errors import ConfigError

REFDATA = Path(__file__).resolve().parent.parent / "refdata"
ENFORCEMENT_FILE = REFDATA / "enforcement.toml"
GRADES_FILE = REFDATA / "credit_grades.toml"

OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
             "==": operator.eq}
GRADE_METRICS = ("positives", "refused_tests", "objections_upheld", "days_since_last_positive",
                 "days_between_positives", "tests")
#: the metrics' names in the Chinese reason of a grade
METRIC_ZH = {"positives": "阳性次数", "refused_tests": "拒检次数", "objections_upheld": "异议成立次数",
             "days_since_last_positive": "距最近阳性天数",
             "days_between_positives": "两次阳性最短间隔天数", "tests": "检测次数"}
GRADES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class EnforcementRules:
    objection_hours: float
    objection_source: str
    alert_target_minutes: float
    alert_target_source: str
    alert_verdicts: tuple[str, ...]
    case_verdicts: tuple[str, ...]
    disposals: dict[str, dict[str, str]]  # key -> {"zh": …, "en": …}


@dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    value: float

    def holds(self, metrics: dict[str, Any]) -> bool:
        actual = metrics.get(self.metric)
        if actual is None:
            return False
        return OPERATORS[self.op](actual, self.value)

    def describe(self, metrics: dict[str, Any]) -> str:
        return f"{self.metric} = {metrics.get(self.metric)} (rule {self.op} {self.value:g})"

    def describe_zh(self, metrics: dict[str, Any]) -> str:
        return (f"{METRIC_ZH.get(self.metric, self.metric)} = {metrics.get(self.metric)}"
                f"(规则 {self.op} {self.value:g})")


@dataclass(frozen=True)
class GradeRule:
    grade: str
    reason_en: str
    reason_zh: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class GradeRules:
    edition: str
    source: str
    window_days: int
    default: str
    default_reason_en: str
    default_reason_zh: str
    rules: tuple[GradeRule, ...]
    per_month: dict[str, int]


def _load(path: Path) -> dict[str, Any]:
    """The parsed file, re-read only when it changed (the listener asks for every reading)."""
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ConfigError(f"{path}: reference data file missing") from None
    return _parse(path, mtime)


@functools.lru_cache(maxsize=16)
def _parse(path: Path, mtime_ns: int) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: reference data file missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _get(data: dict, path: Path, *keys: str) -> Any:
    cur: Any = data
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            raise ConfigError(f"{path.name}: missing {'.'.join(keys)}")
        cur = cur[k]
    return cur


def _positive_number(data: dict, path: Path, *keys: str) -> float:
    v = _get(data, path, *keys)
    if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
        raise ConfigError(f"{path.name}: {'.'.join(keys)} must be a positive number, got {v!r}")
    return float(v)


def load_enforcement_rules(path: Path = ENFORCEMENT_FILE) -> EnforcementRules:
    d = _load(path)
    disposals = {k: v for k, v in _get(d, path, "disposal").items() if isinstance(v, dict)}
    if not disposals:
        raise ConfigError(f"{path.name}: disposal lists no way of handling a positive")
    return EnforcementRules(
        objection_hours=_positive_number(d, path, "objection_window", "hours"),
        objection_source=str(_get(d, path, "objection_window", "source")),
        alert_target_minutes=_positive_number(d, path, "alert_response", "target_minutes"),
        alert_target_source=str(_get(d, path, "alert_response", "source")),
        alert_verdicts=tuple(_get(d, path, "alert_levels", "verdicts")),
        case_verdicts=tuple(_get(d, path, "case_opening", "verdicts")),
        disposals=disposals,
    )


def load_grade_rules(path: Path = GRADES_FILE) -> GradeRules:
    d = _load(path)
    meta = _get(d, path, "meta")
    default = str(_get(d, path, "meta", "default"))
    if default not in GRADES:
        raise ConfigError(f"{path.name}: meta.default must be one of {GRADES}, got {default!r}")
    rules = []
    for i, r in enumerate(d.get("rule", []), start=1):
        where = f"{path.name} rule #{i}"
        if r.get("grade") not in GRADES:
            raise ConfigError(f"{where}: grade must be one of {GRADES}, got {r.get('grade')!r}")
        conds = []
        for j, c in enumerate(r.get("all", []), start=1):
            if c.get("metric") not in GRADE_METRICS:
                raise ConfigError(f"{where} condition {j}: unknown metric {c.get('metric')!r}; "
                                  f"known: {', '.join(GRADE_METRICS)}")
            if c.get("op") not in OPERATORS:
                raise ConfigError(f"{where} condition {j}: unknown op {c.get('op')!r}")
            if isinstance(c.get("value"), bool) or not isinstance(c.get("value"), int | float):
                raise ConfigError(f"{where} condition {j}: value must be a number")
            conds.append(Condition(c["metric"], c["op"], float(c["value"])))
        if not conds:
            raise ConfigError(f"{where}: no conditions (give `all = [...]`)")
        rules.append(GradeRule(r["grade"], str(r.get("reason_en", "")),
                               str(r.get("reason_zh", "")), tuple(conds)))
    per_month = {str(k): int(v) for k, v in _get(d, path, "sampling", "per_month").items()}
    missing = [g for g in GRADES if g not in per_month]
    if missing:
        raise ConfigError(f"{path.name}: sampling.per_month lacks grade(s) {', '.join(missing)}")
    window = int(_positive_number(d, path, "meta", "window_days"))
    return GradeRules(edition=str(_get(d, path, "meta", "edition")),
                      source=str(_get(d, path, "meta", "source")), window_days=window,
                      default=default, default_reason_en=str(meta.get("default_reason_en", "")),
                      default_reason_zh=str(meta.get("default_reason_zh", "")),
                      rules=tuple(rules), per_month=per_month)
