"""Blood-pressure meters: the static pressure check against a reference manometer.

Each point is ``{"reference": R, "indicated": I}`` in the unit of the check (mmHg or kPa); the
error I − R must lie within the MPE of :class:`calibration.refdata.BpLimits` for that unit
(initial or in service). A mercury instrument's zero reading is checked against its own range.
"""

from __future__ import annotations

from typing import Any

from calibration.refdata import BpLimits, load_bp
from calibration.report import Check, Report, at_least, at_most, within

UNITS = ("mmHg", "kPa")


def _unit(unit: str) -> str:
    for u in UNITS:
        if unit.strip().lower() == u.lower():
            return u
    raise ValueError(f"unit {unit!r} must be mmHg or kPa")


def kpa_to_mmhg(kpa: float, limits: BpLimits | None = None) -> float:
    return kpa * (limits or load_bp()).mmhg_per_kpa


def mmhg_to_kpa(mmhg: float, limits: BpLimits | None = None) -> float:
    return mmhg / (limits or load_bp()).mmhg_per_kpa


def bp_mpe(unit: str, *, in_service: bool, limits: BpLimits | None = None) -> float:
    """Static pressure MPE in ``unit`` (mmHg or kPa), as stated by the reference data."""
    lim = limits or load_bp()
    u = _unit(unit)
    if u == "mmHg":
        return lim.in_service_mpe_mmhg if in_service else lim.initial_mpe_mmhg
    return lim.in_service_mpe_kpa if in_service else lim.initial_mpe_kpa


def verify_bp(points: list[dict[str, Any]], *, unit: str = "mmHg", in_service: bool = False,
              kind: str = "automated", zero: float | None = None,
              limits: BpLimits | None = None, instrument: dict[str, Any] | None = None) -> Report:
    """Static pressure check at every point; for ``kind="mercury"`` also the zero reading."""
    lim = limits or load_bp()
    u = _unit(unit)
    parsed = parse_points(points)
    m = bp_mpe(u, in_service=in_service, limits=lim)
    rep = Report("bp_static_check",
                 {**(instrument or {}), "unit": u, "kind": kind, "in_service": in_service},
                 {**lim.provenance.to_dict(), "mpe": m, "unit": u})
    n_ok = len(parsed) >= lim.min_points
    rep.checks.append(Check("number of points", n_ok,
                            f"{len(parsed)} point(s), need at least {lim.min_points}",
                            {"points": len(parsed), "min_points": lim.min_points}))
    for i, p in enumerate(parsed, start=1):
        err = p["indicated"] - p["reference"]
        ok = within(err, m)
        other = "kPa" if u == "mmHg" else "mmHg"
        err_other = mmhg_to_kpa(err, lim) if u == "mmHg" else kpa_to_mmhg(err, lim)
        rep.checks.append(Check(
            f"point #{i} at {p['reference']:g} {u}", ok,
            f"error {err:+g} {u} ({err_other:+.3g} {other}) "
            f"{'within' if ok else 'exceeds'} MPE ±{m:g} {u}",
            {"reference": p["reference"], "indicated": p["indicated"], "error": err,
             f"error_{other.lower()}": err_other, "mpe": m}))
    if kind == "mercury":
        if zero is None:
            rep.checks.append(Check("mercury zero", False, "zero reading not given"))
        else:
            z_kpa = zero if u == "kPa" else mmhg_to_kpa(zero, lim)
            ok = at_least(z_kpa, lim.mercury_zero_min_kpa) and at_most(z_kpa,
                                                                        lim.mercury_zero_max_kpa)
            rep.checks.append(Check(
                "mercury zero", ok,
                f"zero {z_kpa:+.3g} kPa {'within' if ok else 'outside'} "
                f"{lim.mercury_zero_min_kpa:+g} … {lim.mercury_zero_max_kpa:+g} kPa",
                {"zero_kpa": z_kpa, "min_kpa": lim.mercury_zero_min_kpa,
                 "max_kpa": lim.mercury_zero_max_kpa}))
    return rep


def parse_points(points: Any) -> list[dict[str, float]]:
    """Check the points; ValueError names every bad field and row."""
    if not isinstance(points, list):
        raise ValueError("bp points: must be a list of {reference, indicated}")
    out, problems = [], []
    for i, p in enumerate(points, start=1):
        row = {}
        for f in ("reference", "indicated"):
            v = p.get(f) if isinstance(p, dict) else None
            try:
                row[f] = float(v)
            except (TypeError, ValueError):
                problems.append(f"point #{i}: {f} {'missing' if v in (None, '') else 'is not a number: ' + repr(v)}")
        out.append(row)
    if problems:
        raise ValueError("bp points: " + "; ".join(problems))
    return out
