"""Non-automatic weighing instruments (OIML R76-1, JJG 539): classes, MPE and the verification.

Loads, indications, e and d share one mass unit (``ScaleSpec.unit``: mg, g, kg or t). MPEs are
in e, so they need no conversion; the accuracy classes' e ranges are stated in grams (OIML R76-1
Table 3; ``WeighingRef.class_unit``), so e is converted to grams before a class is looked up
(a 30 kg / 0.01 kg class III scale has e = 10 g). The limits come from a
:class:`calibration.refdata.WeighingRef` (``load_weighing()``); nothing here is a bare limit.

Readings for :func:`verify_scale` (every list is one test; each entry a dict):

* ``weighing``: ``load``, ``indication`` [, ``delta_l`` small extra weights at the changeover
  point, then E = I + ½e − ΔL − L; ``standard_error`` error of the weights making up the load]
* ``eccentricity``: ``position``, ``load``, ``indication`` [, ``delta_l``]
* ``repeatability``: ``load``, ``indication``
* ``discrimination``: ``load``, ``extra`` (≈ 1.4 d), ``before``, ``after``
* ``standard_weights``: ``nominal``, ``mpe`` (the weight's maximum permissible error)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from calibration.refdata import AccuracyClass, WeighingRef, load_weighing
from calibration.report import Check, Report, at_least, at_most, within

#: grams per mass unit (definitions, not limits)
GRAMS_PER_UNIT = {"mg": 0.001, "g": 1.0, "kg": 1000.0, "t": 1_000_000.0}


def mass_unit(unit: str) -> str:
    """The unit's canonical spelling; ValueError for a unit that is not a mass unit we know."""
    key = str(unit).strip().lower()
    if key not in GRAMS_PER_UNIT:
        raise ValueError(f"mass unit {unit!r} unknown (known: {', '.join(GRAMS_PER_UNIT)})")
    return key


def convert_mass(value: float, unit: str, to: str) -> float:
    """``value`` in ``unit`` expressed in ``to`` (e.g. 0.01 kg → 10 g)."""
    return value * GRAMS_PER_UNIT[mass_unit(unit)] / GRAMS_PER_UNIT[mass_unit(to)]


@dataclass(frozen=True)
class ScaleSpec:
    max: float
    e: float
    accuracy_class: str
    d: float | None = None
    min: float | None = None
    unit: str = "g"
    in_service: bool = False

    @property
    def n(self) -> float:
        return self.max / self.e

    @property
    def div(self) -> float:
        return self.d if self.d is not None else self.e

    def to_dict(self) -> dict[str, Any]:
        return {"max": self.max, "e": self.e, "d": self.div, "n": self.n, "unit": self.unit,
                "class": self.accuracy_class, "min": self.min, "in_service": self.in_service}


def mpe_e(load_e: float, cls: AccuracyClass, *, in_service: bool = False,
          ref: WeighingRef | None = None) -> float:
    """MPE (in e) for a load of ``load_e`` e: the band whose upper bound (inclusive) holds it."""
    ref = ref or load_weighing()
    if load_e < 0:
        raise ValueError(f"load {load_e} e is negative")
    band = next(b for b in cls.bands if b.up_to_e is None or at_most(load_e, b.up_to_e))
    return band.mpe_e * (ref.in_service_factor if in_service else 1.0)


def mpe(load: float, *, e: float, accuracy_class: str, in_service: bool = False,
        ref: WeighingRef | None = None) -> float:
    """MPE in mass units for ``load`` on a scale of interval ``e`` and the named class."""
    ref = ref or load_weighing()
    if e <= 0:
        raise ValueError(f"e must be positive, got {e}")
    return mpe_e(abs(load) / e, ref.cls(accuracy_class), in_service=in_service, ref=ref) * e


def change_points_e(cls: AccuracyClass) -> list[float]:
    """Loads (in e) where the MPE steps up, e.g. 500 e and 2 000 e for class III."""
    return [b.up_to_e for b in cls.bands if b.up_to_e is not None]


def fitting_classes(e: float, n: float, ref: WeighingRef | None = None, *,
                    unit: str = "g") -> list[str]:
    """Every class whose e and n ranges admit this instrument (e in ``unit``), finest first."""
    ref = ref or load_weighing()
    return [c.name for c in ref.classes.values() if _range_for(c, e, n, unit, ref) is not None]


def _range_for(cls: AccuracyClass, e: float, n: float, unit: str = "g",
               ref: WeighingRef | None = None):
    """The e/n range of ``cls`` admitting e (given in ``unit``; the ranges are in the reference
    data's class unit, grams) and n, or None."""
    class_unit = (ref or load_weighing()).class_unit
    e = convert_mass(e, unit, class_unit)
    for r in cls.ranges:
        if (at_least(e, r.e_min) and (r.e_max is None or at_most(e, r.e_max))
                and at_least(n, r.n_min) and (r.n_max is None or at_most(n, r.n_max))):
            return r
    return None


def classify(e: float, n: float, ref: WeighingRef | None = None, *, unit: str = "g") -> str:
    """The finest accuracy class an instrument of interval ``e`` (in ``unit``) and ``n``
    intervals can have."""
    fits = fitting_classes(e, n, ref, unit=unit)
    if not fits:
        raise ValueError(f"no accuracy class admits e = {e:g} {unit} with n = {n:g}")
    return fits[0]


def min_capacity(spec: ScaleSpec, ref: WeighingRef | None = None) -> float:
    """The instrument's Min: as declared, else the class's minimum capacity (in e) × e."""
    if spec.min is not None:
        return spec.min
    ref = ref or load_weighing()
    cls = ref.cls(spec.accuracy_class)
    r = _range_for(cls, spec.e, spec.n, spec.unit, ref) or cls.ranges[0]
    return r.min_capacity_e * spec.e


def required_points(spec: ScaleSpec, ref: WeighingRef | None = None) -> list[tuple[str, float]]:
    """Loads the weighing test must cover: zero, Min, the MPE change points, 25…100 % Max."""
    ref = ref or load_weighing()
    cls = ref.cls(spec.accuracy_class)
    mn = min_capacity(spec, ref)
    pts = [("zero", 0.0), ("Min", mn)]
    pts += [(f"{cp:g} e (MPE change)", cp * spec.e) for cp in change_points_e(cls)
            if mn < cp * spec.e < spec.max]
    pts += [(f"{f * 100:g} % Max", f * spec.max) for f in ref.test_point_fractions]
    return sorted(pts, key=lambda p: p[1])


def _error(r: dict[str, Any], e: float) -> float:
    """Error of one weighing; with changeover weights ΔL the error before rounding."""
    if r.get("delta_l") is not None:
        return r["indication"] + 0.5 * e - r["delta_l"] - r["load"]
    return r["indication"] - r["load"]


def _weighing_checks(spec: ScaleSpec, rows: list[dict], ref: WeighingRef) -> list[Check]:
    checks = []
    for i, r in enumerate(rows, start=1):
        err = _error(r, spec.e)
        lim = mpe(r["load"], e=spec.e, accuracy_class=spec.accuracy_class,
                  in_service=spec.in_service, ref=ref)
        ok = within(err, lim)
        checks.append(Check(
            f"weighing #{i} at {r['load']:g} {spec.unit}", ok,
            f"error {err:+g} {spec.unit} {'within' if ok else 'exceeds'} MPE ±{lim:g} {spec.unit}",
            {"load": r["load"], "indication": r["indication"], "error": err, "mpe": lim,
             "load_e": r["load"] / spec.e}))
    pts = required_points(spec, ref)
    missing = []
    for label, p in pts:
        tol = ref.point_tolerance_fraction * p
        if not any(abs(r["load"] - p) <= tol + 1e-12 for r in rows):
            missing.append(f"{label} ({p:g} {spec.unit})")
    checks.append(Check(
        "weighing test points", not missing,
        "all test points covered" if not missing else "not tested: " + ", ".join(missing),
        {"required": [{"point": label, "load": p} for label, p in pts], "missing": missing,
         "tolerance_fraction": ref.point_tolerance_fraction}))
    return checks


def _eccentricity_check(spec: ScaleSpec, rows: list[dict], ref: WeighingRef) -> Check:
    nominal = ref.eccentricity_load_fraction * spec.max
    problems, worst = [], None
    positions = []
    for i, r in enumerate(rows, start=1):
        err = _error(r, spec.e)
        lim = mpe(r["load"], e=spec.e, accuracy_class=spec.accuracy_class,
                  in_service=spec.in_service, ref=ref)
        pos = str(r.get("position", i))
        positions.append({"position": pos, "load": r["load"], "error": err, "mpe": lim})
        if worst is None or abs(err) - lim > abs(worst["error"]) - worst["mpe"]:
            worst = positions[-1]
        if not within(err, lim):
            problems.append(f"position {pos}: error {err:+g} exceeds ±{lim:g}")
        if abs(r["load"] - nominal) > ref.eccentricity_load_tolerance * nominal + 1e-12:
            problems.append(f"position {pos}: load {r['load']:g} is not ≈ 1/3 Max "
                            f"({nominal:g} ± {ref.eccentricity_load_tolerance:.0%})")
    if len({p["position"] for p in positions}) < ref.eccentricity_min_positions:
        problems.append(f"{len(positions)} position(s), need {ref.eccentricity_min_positions} "
                        f"(each quarter of the platform)")
    msg = "; ".join(problems) if problems else (
        f"largest error {worst['error']:+g} at {worst['position']} within ±{worst['mpe']:g}")
    return Check("eccentricity", not problems, msg,
                 {"nominal_load": nominal, "positions": positions})


def _repeatability_check(spec: ScaleSpec, rows: list[dict], ref: WeighingRef) -> Check:
    problems = []
    if len(rows) < ref.repeatability_min_weighings:
        problems.append(f"{len(rows)} weighing(s), need {ref.repeatability_min_weighings}")
    if not rows:
        return Check("repeatability", False, problems[0], {})
    load = sum(r["load"] for r in rows) / len(rows)
    if load < ref.repeatability_min_load_fraction * spec.max - 1e-12:
        problems.append(f"load {load:g} is not near Max (need ≥ "
                        f"{ref.repeatability_min_load_fraction:.0%} of {spec.max:g})")
    errors = [_error(r, spec.e) for r in rows]
    spread = max(errors) - min(errors)
    lim = mpe(load, e=spec.e, accuracy_class=spec.accuracy_class, in_service=spec.in_service,
              ref=ref)
    if not at_most(spread, lim):
        problems.append(f"max − min = {spread:g} exceeds MPE {lim:g}")
    for i, err in enumerate(errors, start=1):
        if not within(err, lim):
            problems.append(f"weighing #{i}: error {err:+g} exceeds ±{lim:g}")
    msg = "; ".join(problems) if problems else f"max − min = {spread:g} ≤ MPE {lim:g}"
    return Check("repeatability", not problems, msg,
                 {"load": load, "n": len(rows), "errors": errors, "spread": spread, "mpe": lim})


def _discrimination_checks(spec: ScaleSpec, rows: list[dict], ref: WeighingRef) -> list[Check]:
    checks = []
    need = ref.discrimination_extra_d * spec.div
    for i, r in enumerate(rows, start=1):
        change = r["after"] - r["before"]
        problems = []
        if not at_most(r["extra"], need):
            problems.append(f"extra load {r['extra']:g} is more than {ref.discrimination_extra_d:g}"
                            f" d = {need:g}: not a discrimination test")
        if not at_least(change, spec.div):
            problems.append(f"adding {r['extra']:g} changed the display by {change:g} "
                            f"(needs ≥ d = {spec.div:g})")
        msg = "; ".join(problems) if problems else (
            f"adding {r['extra']:g} changed the display by {change:g}")
        checks.append(Check(f"discrimination #{i} at {r['load']:g} {spec.unit}", not problems,
                            msg, {"load": r["load"], "extra": r["extra"], "required_extra": need,
                                  "before": r["before"], "after": r["after"], "change": change}))
    return checks


def _standard_checks(spec: ScaleSpec, weights: list[dict], weighing: list[dict],
                     ref: WeighingRef) -> list[Check]:
    f = ref.standard_weight_fraction
    rows = [("weight", w["nominal"], w["mpe"]) for w in weights]
    rows += [("load", r["load"], r["standard_error"]) for r in weighing
             if r.get("standard_error") is not None]
    checks = []
    for what, load, err in rows:
        lim = f * mpe(load, e=spec.e, accuracy_class=spec.accuracy_class,
                      in_service=spec.in_service, ref=ref)
        ok = at_most(abs(err), lim)
        checks.append(Check(
            f"standard {what} {load:g} {spec.unit}", ok,
            f"error {abs(err):g} {'≤' if ok else '>'} {f:.3g} × MPE = {lim:g}",
            {"nominal": load, "standard_error": abs(err), "limit": lim, "fraction": f}))
    return checks


def check_points(spec: ScaleSpec, rows: list[dict], ref: WeighingRef | None = None) -> Report:
    """A quick check (outreach, intermediate check): only the weighings given, each against its
    MPE; no coverage, eccentricity or other tests. At least one weighing is required."""
    ref = ref or load_weighing()
    ref.cls(spec.accuracy_class)
    rep = Report("scale_check", spec.to_dict(),
                 {**ref.provenance.to_dict(), "mpe": "in service" if spec.in_service else "initial"})
    if not rows:
        rep.checks.append(Check("weighing", False, "not performed (no readings)"))
    else:
        rep.checks += _weighing_checks(spec, rows, ref)[:-1]
    return rep


def verify_scale(spec: ScaleSpec, readings: dict[str, list[dict]],
                 ref: WeighingRef | None = None) -> Report:
    """The full verification: class, weighing test, eccentricity, repeatability,
    discrimination, standard weights. A test with no readings is a failing check."""
    ref = ref or load_weighing()
    cls = ref.cls(spec.accuracy_class)
    rep = Report("scale_verification", spec.to_dict(),
                 {**ref.provenance.to_dict(), "mpe": "in service" if spec.in_service else "initial"})
    r = _range_for(cls, spec.e, spec.n, spec.unit, ref)
    e_class = convert_mass(spec.e, spec.unit, ref.class_unit)
    e_txt = f"e = {spec.e:g} {spec.unit}" + (
        f" (= {e_class:g} {ref.class_unit})" if mass_unit(spec.unit) != ref.class_unit else "")
    rep.checks.append(Check(
        "accuracy class", r is not None,
        f"class {cls.name} admits {e_txt}, n = {spec.n:g}" if r else
        f"class {cls.name} does not admit {e_txt}, n = {spec.n:g} "
        f"(fits: {', '.join(fitting_classes(spec.e, spec.n, ref, unit=spec.unit)) or 'none'})",
        {"e": spec.e, "n": spec.n, "unit": spec.unit, f"e_{ref.class_unit}": e_class}))
    sections = ("weighing", "eccentricity", "repeatability", "discrimination", "standard_weights")
    for s in sections:
        if not readings.get(s) and not (s == "standard_weights" and any(
                x.get("standard_error") is not None for x in readings.get("weighing", []))):
            rep.checks.append(Check(s.replace("_", " "), False, "not performed (no readings)"))
    if readings.get("weighing"):
        rep.checks += _weighing_checks(spec, readings["weighing"], ref)
    if readings.get("eccentricity"):
        rep.checks.append(_eccentricity_check(spec, readings["eccentricity"], ref))
    if readings.get("repeatability"):
        rep.checks.append(_repeatability_check(spec, readings["repeatability"], ref))
    if readings.get("discrimination"):
        rep.checks += _discrimination_checks(spec, readings["discrimination"], ref)
    rep.checks += _standard_checks(spec, readings.get("standard_weights", []),
                                   readings.get("weighing", []), ref)
    return rep


# --------------------------------------------------------------------- reading input

_FIELDS = {
    "weighing": ("load", "indication"),
    "eccentricity": ("load", "indication"),
    "repeatability": ("load", "indication"),
    "discrimination": ("load", "extra", "before", "after"),
    "standard_weights": ("nominal", "mpe"),
}
_OPTIONAL = ("delta_l", "standard_error")


def parse_readings(data: dict[str, Any]) -> dict[str, list[dict]]:
    """Check and convert readings (from JSON/CSV); ValueError names every bad field and row."""
    problems: list[str] = []
    out: dict[str, list[dict]] = {}
    unknown = set(data) - set(_FIELDS) - {"instrument"}
    if unknown:
        problems.append(f"unknown test(s): {', '.join(sorted(unknown))} "
                        f"(known: {', '.join(_FIELDS)})")
    for test, fields in _FIELDS.items():
        rows = data.get(test) or []
        if not isinstance(rows, list):
            problems.append(f"{test}: must be a list of readings")
            continue
        out[test] = []
        for i, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                problems.append(f"{test} #{i}: must be an object")
                continue
            clean: dict[str, Any] = {}
            for f in fields + _OPTIONAL:
                v = row.get(f)
                if v is None or v == "":
                    if f in fields:
                        problems.append(f"{test} #{i}: {f} missing")
                    continue
                try:
                    clean[f] = float(v)
                except (TypeError, ValueError):
                    problems.append(f"{test} #{i}: {f} is not a number: {v!r}")
            if "position" in row:
                clean["position"] = str(row["position"])
            out[test].append(clean)
    if problems:
        raise ValueError("scale readings: " + "; ".join(problems))
    return out


def parse_spec(d: dict[str, Any], ref: WeighingRef | None = None) -> ScaleSpec:
    """Instrument data: max, e, class (default: the finest that fits), d, min, unit, in_service."""
    problems = []
    nums: dict[str, float | None] = {}
    for f in ("max", "e", "d", "min"):
        v = d.get(f)
        if v is None or v == "":
            if f in ("max", "e"):
                problems.append(f"instrument.{f} missing")
            nums[f] = None
            continue
        try:
            nums[f] = float(v)
        except (TypeError, ValueError):
            problems.append(f"instrument.{f} is not a number: {v!r}")
            continue
        if nums[f] <= 0:
            problems.append(f"instrument.{f} must be positive, got {v!r}")
    if problems:
        raise ValueError("; ".join(problems))
    assert nums["max"] is not None and nums["e"] is not None
    unit = mass_unit(d.get("unit") or "g")
    cls = d.get("class") or d.get("accuracy_class")
    if not cls:
        cls = classify(nums["e"], nums["max"] / nums["e"], ref, unit=unit)
    (ref or load_weighing()).cls(str(cls))
    return ScaleSpec(max=nums["max"], e=nums["e"], accuracy_class=str(cls).upper(), d=nums["d"],
                     min=nums["min"], unit=unit,
                     in_service=bool(d.get("in_service", False)))
