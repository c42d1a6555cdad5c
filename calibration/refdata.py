"""Load the versioned reference data (limits, classes, rules) into frozen dataclasses.

Every limit the maths applies comes from a TOML file in ``calibration/data/`` (or one the caller
names), which states its source and edition. Functions take these objects as arguments; nothing
in the maths is a bare constant. A malformed file raises ``ValueError`` naming file and field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


def _read(path: Path | str | None, default: str) -> tuple[dict[str, Any], str]:
    p = Path(path) if path is not None else DATA_DIR / default
    try:
        return tomllib.loads(p.read_text(encoding="utf-8")), str(p)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"reference data {p}: {exc}") from exc


def _get(d: dict[str, Any], key: str, where: str, kind: type = float) -> Any:
    if key not in d:
        raise ValueError(f"reference data {where}: missing field {key!r}")
    value = d[key]
    try:
        if kind is float:
            return float(value)
        if kind is int:
            return int(value)
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"reference data {where}: field {key!r} is not a {kind.__name__}: "
                         f"{value!r}") from None


@dataclass(frozen=True)
class Provenance:
    source: str
    edition: str
    confirmed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "edition": self.edition, "confirmed": self.confirmed}


# ---------------------------------------------------------------- weighing instruments

@dataclass(frozen=True)
class MpeBand:
    up_to_e: float | None  # inclusive upper bound of the load in e; None = no bound
    mpe_e: float


@dataclass(frozen=True)
class ClassRange:
    e_min: float
    e_max: float | None
    n_min: int
    n_max: int | None
    min_capacity_e: float


@dataclass(frozen=True)
class AccuracyClass:
    name: str
    bands: tuple[MpeBand, ...]
    ranges: tuple[ClassRange, ...]


@dataclass(frozen=True)
class WeighingRef:
    provenance: Provenance
    classes: dict[str, AccuracyClass]
    in_service_factor: float
    standard_weight_fraction: float
    discrimination_extra_d: float
    eccentricity_load_fraction: float
    eccentricity_min_positions: int
    repeatability_min_weighings: int
    repeatability_min_load_fraction: float
    point_tolerance_fraction: float
    eccentricity_load_tolerance: float
    test_point_fractions: tuple[float, ...]
    household_body_scale_class: str
    household_body_scale_confirmed: bool
    household_kitchen_scale_class: str
    household_kitchen_scale_confirmed: bool
    #: the mass unit of the classes' e ranges (e_min, e_max): grams in OIML R76-1 Table 3
    class_unit: str = "g"

    def cls(self, name: str) -> AccuracyClass:
        key = name.strip().upper()
        if key not in self.classes:
            raise ValueError(f"accuracy class {name!r} unknown (known: {', '.join(self.classes)})")
        return self.classes[key]


@cache
def _weighing_default() -> WeighingRef:
    return _parse_weighing(*_read(None, "weighing.toml"))


def load_weighing(path: Path | str | None = None) -> WeighingRef:
    return _weighing_default() if path is None else _parse_weighing(*_read(path, ""))


def _parse_weighing(d: dict[str, Any], where: str) -> WeighingRef:
    classes: dict[str, AccuracyClass] = {}
    for i, c in enumerate(d.get("class", []), start=1):
        w = f"{where} class #{i}"
        name = str(_get(c, "name", w, str)).upper()
        bands = []
        for b in c.get("bands", []):
            up = b.get("up_to_e")
            bands.append(MpeBand(None if up is None else float(up), _get(b, "mpe_e", w)))
        if not bands or bands[-1].up_to_e is not None:
            raise ValueError(f"{w}: bands must end with an unbounded band (no up_to_e)")
        default_min = _get(c, "min_capacity_e", w)
        ranges = tuple(
            ClassRange(_get(r, "e_min", w), None if r.get("e_max") is None else float(r["e_max"]),
                       _get(r, "n_min", w, int),
                       None if r.get("n_max") is None else int(r["n_max"]),
                       float(r.get("min_capacity_e", default_min)))
            for r in c.get("ranges", []))
        if not ranges:
            raise ValueError(f"{w}: no e/n ranges")
        classes[name] = AccuracyClass(name, tuple(bands), ranges)
    if not classes:
        raise ValueError(f"reference data {where}: no [[class]] tables")
    return WeighingRef(
        provenance=Provenance(_get(d, "source", where, str), _get(d, "edition", where, str)),
        classes=classes,
        in_service_factor=_get(d, "in_service_factor", where),
        standard_weight_fraction=_get(d, "standard_weight_fraction", where),
        discrimination_extra_d=_get(d, "discrimination_extra_d", where),
        eccentricity_load_fraction=_get(d, "eccentricity_load_fraction", where),
        eccentricity_min_positions=_get(d, "eccentricity_min_positions", where, int),
        repeatability_min_weighings=_get(d, "repeatability_min_weighings", where, int),
        repeatability_min_load_fraction=_get(d, "repeatability_min_load_fraction", where),
        point_tolerance_fraction=_get(d, "point_tolerance_fraction", where),
        eccentricity_load_tolerance=_get(d, "eccentricity_load_tolerance", where),
        test_point_fractions=tuple(float(x) for x in d.get("test_point_fractions", [])),
        household_body_scale_class=_get(d, "household_body_scale_class", where, str),
        household_body_scale_confirmed=bool(d.get("household_body_scale_confirmed", False)),
        household_kitchen_scale_class=_get(d, "household_kitchen_scale_class", where, str),
        household_kitchen_scale_confirmed=bool(d.get("household_kitchen_scale_confirmed", False)),
        class_unit=str(d.get("class_unit", "g")).strip().lower(),
    )


# ---------------------------------------------------------------- blood-pressure meters

#: verification modes of a blood-pressure meter (JJG 692-2010 / JJG 270-2008: 首次检定,
#: 后续检定, 使用中检查)
BP_MODES = ("initial", "subsequent", "in_service")
#: kinds of blood-pressure meter, each under its own regulation: automated (electronic,
#: JJG 692-2010), mercury sphygmomanometer and aneroid gauge (JJG 270-2008)
BP_KINDS = ("automated", "mercury", "aneroid")
BP_UNITS = ("mmHg", "kPa")


@dataclass(frozen=True)
class BpMpe:
    """The static-pressure MPE of one verification mode of one kind of meter, in ``unit``."""

    mode: str
    value: float
    confirmed: bool
    source: str
    unit: str = "mmHg"


@dataclass(frozen=True)
class BpKind:
    """The limits of one kind of meter under its regulation; the MPEs are stated in
    ``limit_unit`` (as the regulation states them) and converted exactly for the other unit."""

    kind: str
    code: str          # the regulation's number, e.g. JJG 692-2010
    regulation: str    # its number and title
    limit_unit: str
    mpe: tuple[BpMpe, ...]

    def mpe_for(self, mode: str) -> BpMpe:
        for m in self.mpe:
            if m.mode == mode:
                return m
        raise ValueError(f"blood-pressure limits ({self.kind}): no MPE for mode {mode!r} "
                         f"(have: {', '.join(m.mode for m in self.mpe)})")


@dataclass(frozen=True)
class BpLimits:
    provenance: Provenance
    mmhg_per_kpa: float
    kinds: dict[str, BpKind]
    min_points: int
    mercury_zero_min_kpa: float
    mercury_zero_max_kpa: float

    def kind(self, kind: str) -> BpKind:
        k = self.kinds.get(str(kind).strip().lower())
        if k is None:
            raise ValueError(f"kind {kind!r} must be one of {', '.join(self.kinds)}")
        return k

    def mpe_for(self, mode: str, kind: str = "automated") -> BpMpe:
        return self.kind(kind).mpe_for(mode)

    @property
    def limit_unit(self) -> str:
        """The unit of the automated meters' limits (kept for older callers)."""
        return self.kind("automated").limit_unit


@cache
def _bp_default() -> BpLimits:
    return _parse_bp(*_read(None, "bp.toml"))


def load_bp(path: Path | str | None = None) -> BpLimits:
    return _bp_default() if path is None else _parse_bp(*_read(path, ""))


def _parse_bp_kind(kind: str, d: dict[str, Any], where: str) -> BpKind:
    w = f"{where} kind.{kind}"
    limit_unit = _get(d, "limit_unit", w, str)
    if limit_unit not in BP_UNITS:
        raise ValueError(f"reference data {w}: field 'limit_unit' must be mmHg or kPa, "
                         f"got {limit_unit!r}")
    mpes = []
    for i, m in enumerate(d.get("mpe", []), start=1):
        wm = f"{w} mpe #{i}"
        mode = _get(m, "mode", wm, str)
        if mode not in BP_MODES:
            raise ValueError(f"{wm}: mode {mode!r} must be one of {', '.join(BP_MODES)}")
        value = _get(m, "value", wm)
        if value <= 0:
            raise ValueError(f"{wm}: field 'value' must be positive")
        mpes.append(BpMpe(mode, value, bool(m.get("confirmed", False)),
                          str(m.get("source", "")), limit_unit))
    missing = [mode for mode in BP_MODES if mode not in {m.mode for m in mpes}]
    if missing:
        raise ValueError(f"reference data {w}: missing field 'mpe' for mode(s) "
                         f"{', '.join(missing)}")
    return BpKind(kind, _get(d, "code", w, str), _get(d, "regulation", w, str), limit_unit,
                  tuple(mpes))


def _parse_bp(d: dict[str, Any], where: str) -> BpLimits:
    kinds_in = d.get("kind")
    if not isinstance(kinds_in, dict):
        raise ValueError(f"reference data {where}: missing field 'kind' (limits per kind of "
                         f"meter: {', '.join(BP_KINDS)})")
    missing = [k for k in BP_KINDS if k not in kinds_in]
    if missing:
        raise ValueError(f"reference data {where}: missing field 'kind' for "
                         f"{', '.join(missing)}")
    kinds = {k: _parse_bp_kind(k, v, where) for k, v in kinds_in.items()}
    return BpLimits(
        provenance=Provenance(_get(d, "source", where, str), _get(d, "edition", where, str),
                              bool(d.get("confirmed", True))),
        mmhg_per_kpa=_get(d, "mmhg_per_kpa", where),
        kinds=kinds,
        min_points=_get(d, "min_points", where, int),
        mercury_zero_min_kpa=_get(d, "mercury_zero_min_kpa", where),
        mercury_zero_max_kpa=_get(d, "mercury_zero_max_kpa", where))


# ---------------------------------------------------------------- rapid pesticide analyzers

@dataclass(frozen=True)
class ReferenceSolution:
    analyte: str
    name_zh: str
    concentration_mg_l: float


@dataclass(frozen=True)
class AnalyzerLimits:
    provenance: Provenance
    wavelength_mpe_nm: float
    transmittance_mpe_pct: float
    transmittance_repeatability_pct: float
    transmittance_min_readings: int
    absorbance_drift_max: float
    drift_period_min: float
    channel_difference_max: float
    sensitivity_min_inhibition_pct: float
    temperature_min_c: float
    temperature_max_c: float
    humidity_max_pct: float
    interval_days: int
    reference_solutions: tuple[ReferenceSolution, ...]


@cache
def _analyzer_default() -> AnalyzerLimits:
    return _parse_analyzer(*_read(None, "jjf1729.toml"))


def load_analyzer(path: Path | str | None = None) -> AnalyzerLimits:
    return _analyzer_default() if path is None else _parse_analyzer(*_read(path, ""))


def _parse_analyzer(d: dict[str, Any], where: str) -> AnalyzerLimits:
    floats = ("wavelength_mpe_nm", "transmittance_mpe_pct", "transmittance_repeatability_pct",
              "absorbance_drift_max", "drift_period_min", "channel_difference_max",
              "sensitivity_min_inhibition_pct", "temperature_min_c", "temperature_max_c",
              "humidity_max_pct")
    sols = tuple(ReferenceSolution(_get(s, "analyte", where, str), str(s.get("name_zh", "")),
                                   _get(s, "concentration_mg_l", where))
                 for s in d.get("reference_solution", []))
    return AnalyzerLimits(
        provenance=Provenance(_get(d, "source", where, str), _get(d, "edition", where, str),
                              bool(d.get("confirmed", True))),
        transmittance_min_readings=_get(d, "transmittance_min_readings", where, int),
        interval_days=_get(d, "interval_days", where, int),
        reference_solutions=sols,
        **{f: _get(d, f, where) for f in floats})


# ---------------------------------------------------------------- daily QC

@dataclass(frozen=True)
class WestgardRule:
    name: str
    severity: str   # warning / reject
    kind: str       # single / run_same_side / range
    sd: float
    count: int = 1


@dataclass(frozen=True)
class QcRules:
    provenance: Provenance
    min_control_delta: float
    min_control_delta_confirmed: bool
    channel_max_spread: float
    baseline_min_values: int
    rules: tuple[WestgardRule, ...]

    def rule(self, name: str) -> WestgardRule:
        for r in self.rules:
            if r.name == name:
                return r
        raise ValueError(f"Westgard rule {name!r} not in the reference data")


@cache
def _qc_default() -> QcRules:
    return _parse_qc(*_read(None, "qc.toml"))


def load_qc(path: Path | str | None = None) -> QcRules:
    return _qc_default() if path is None else _parse_qc(*_read(path, ""))


def _parse_qc(d: dict[str, Any], where: str) -> QcRules:
    rules = []
    for i, r in enumerate(d.get("rule", []), start=1):
        w = f"{where} rule #{i}"
        kind = _get(r, "kind", w, str)
        if kind not in ("single", "run_same_side", "range"):
            raise ValueError(f"{w}: kind {kind!r} must be single, run_same_side or range")
        sev = _get(r, "severity", w, str)
        if sev not in ("warning", "reject"):
            raise ValueError(f"{w}: severity {sev!r} must be warning or reject")
        rules.append(WestgardRule(_get(r, "name", w, str), sev, kind, _get(r, "sd", w),
                                  int(r.get("count", 1))))
    return QcRules(
        provenance=Provenance(_get(d, "source", where, str), _get(d, "edition", where, str)),
        min_control_delta=_get(d, "min_control_delta", where),
        min_control_delta_confirmed=bool(d.get("min_control_delta_confirmed", True)),
        channel_max_spread=_get(d, "channel_max_spread", where),
        baseline_min_values=_get(d, "baseline_min_values", where, int),
        rules=tuple(rules))
