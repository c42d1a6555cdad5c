"""Blood-pressure meters: the static pressure check against a reference manometer.

Each point is ``{"reference": R, "indicated": I}`` in the unit of the check (mmHg or kPa); the
error I − R must lie within the MPE of the kind of meter (automated: JJG 692-2010; mercury and
aneroid: JJG 270-2008) in the verification mode (initial, subsequent or in service), from
:class:`calibration.refdata.BpLimits`. Each MPE is stated in the unit its regulation uses and
converted exactly for a check in the other (1 mmHg = 0.133 322 kPa): ±4 mmHg is ±0.5333 kPa,
so an error of +3.9 mmHg passes whichever unit the meter shows. An unconfirmed limit says so in
every point's message. A mercury instrument's zero reading is checked against its own range
(stated in kPa).
"""

from __future__ import annotations

from typing import Any

from calibration.refdata import BP_KINDS, BP_MODES, BpLimits, BpMpe, load_bp
from calibration.report import Check, Report, at_least, at_most, within

UNITS = ("mmHg", "kPa")
_MODE_WORDS = {"initial": "initial", "first": "initial", "首次检定": "initial",
               "subsequent": "subsequent", "后续检定": "subsequent",
               "in_service": "in_service", "in-service": "in_service", "in service": "in_service",
               "使用中检查": "in_service", "使用中检验": "in_service"}


def _unit(unit: str) -> str:
    for u in UNITS:
        if unit.strip().lower() == u.lower():
            return u
    raise ValueError(f"unit {unit!r} must be mmHg or kPa")


def bp_mode(mode: str | None = None, *, in_service: bool = False) -> str:
    """The verification mode: ``mode`` (initial, subsequent, in_service; Chinese names too), or
    in_service / initial from the older ``in_service`` flag."""
    if mode is None or str(mode).strip() == "":
        return "in_service" if in_service else "initial"
    m = _MODE_WORDS.get(str(mode).strip().lower())
    if m is None:
        raise ValueError(f"verification mode {mode!r} must be one of {', '.join(BP_MODES)}")
    if in_service and m != "in_service":
        raise ValueError(f"verification mode {mode!r} contradicts in_service")
    return m


def kpa_to_mmhg(kpa: float, limits: BpLimits | None = None) -> float:
    return kpa * (limits or load_bp()).mmhg_per_kpa


def mmhg_to_kpa(mmhg: float, limits: BpLimits | None = None) -> float:
    return mmhg / (limits or load_bp()).mmhg_per_kpa


def _convert(value: float, unit: str, to: str, lim: BpLimits) -> float:
    if unit == to:
        return value
    return kpa_to_mmhg(value, lim) if unit == "kPa" else mmhg_to_kpa(value, lim)


def bp_kind(kind: str | None) -> str:
    """The kind of meter (automated, mercury, aneroid; Chinese names too)."""
    words = {"automated": "automated", "electronic": "automated", "电子血压计": "automated",
             "mercury": "mercury", "水银血压计": "mercury", "血压计": "mercury",
             "aneroid": "aneroid", "血压表": "aneroid", "弹性式血压表": "aneroid"}
    k = words.get(str(kind or "automated").strip().lower())
    if k is None:
        raise ValueError(f"kind {kind!r} must be one of {', '.join(BP_KINDS)}")
    return k


def bp_mpe(unit: str, *, in_service: bool = False, mode: str | None = None,
           kind: str = "automated", limits: BpLimits | None = None) -> float:
    """Static pressure MPE in ``unit`` (mmHg or kPa) for the kind of meter and verification
    mode: the reference data's value, converted exactly when stated in the other unit."""
    lim = limits or load_bp()
    stated = lim.mpe_for(bp_mode(mode, in_service=in_service), bp_kind(kind))
    return _convert(stated.value, stated.unit, _unit(unit), lim)


def _mpe_text(m: float, u: str, stated: BpMpe, code: str) -> str:
    out = f"±{m:.4g} {u}"
    if u != stated.unit:
        out += f" (= ±{stated.value:g} {stated.unit})"
    out += f", {stated.mode.replace('_', ' ')} ({code})"
    if not stated.confirmed:
        out += "; limit unconfirmed: check the regulation"
    return out


def verify_bp(points: list[dict[str, Any]], *, unit: str = "mmHg", in_service: bool = False,
              mode: str | None = None, kind: str = "automated", zero: float | None = None,
              limits: BpLimits | None = None, instrument: dict[str, Any] | None = None) -> Report:
    """Static pressure check at every point against the MPE of the ``kind`` of meter
    (automated, mercury, aneroid: each under its own regulation) in ``mode`` (initial,
    subsequent or in_service; ``in_service=True`` is the same as mode in_service); for
    ``kind="mercury"`` also the zero reading."""
    lim = limits or load_bp()
    u = _unit(unit)
    md = bp_mode(mode, in_service=in_service)
    kd = bp_kind(kind)
    parsed = parse_points(points)
    reg = lim.kind(kd)
    stated = reg.mpe_for(md)
    m = bp_mpe(u, mode=md, kind=kd, limits=lim)
    rep = Report("bp_static_check",
                 {**(instrument or {}), "unit": u, "kind": kd, "mode": md,
                  "in_service": md == "in_service"},
                 {**lim.provenance.to_dict(), "mpe": m, "unit": u, "mode": md, "kind": kd,
                  "regulation": reg.regulation, "regulation_code": reg.code,
                  "mpe_stated": stated.value, "mpe_stated_unit": stated.unit,
                  "mpe_confirmed": stated.confirmed, "mpe_source": stated.source,
                  "mmhg_per_kpa": lim.mmhg_per_kpa})
    n_ok = len(parsed) >= lim.min_points
    rep.checks.append(Check("number of points", n_ok,
                            f"{len(parsed)} point(s), need at least {lim.min_points}",
                            {"points": len(parsed), "min_points": lim.min_points}))
    other = "kPa" if u == "mmHg" else "mmHg"
    for i, p in enumerate(parsed, start=1):
        err = p["indicated"] - p["reference"]
        ok = within(err, m)
        err_other = _convert(err, u, other, lim)
        rep.checks.append(Check(
            f"point #{i} at {p['reference']:g} {u}", ok,
            f"error {err:+g} {u} ({err_other:+.3g} {other}) "
            f"{'within' if ok else 'exceeds'} MPE {_mpe_text(m, u, stated, reg.code)}",
            {"reference": p["reference"], "indicated": p["indicated"], "error": err,
             f"error_{other.lower()}": err_other, "mpe": m, "mpe_confirmed": stated.confirmed}))
    if kd == "mercury":
        if zero is None:
            rep.checks.append(Check("mercury zero", False, "zero reading not given"))
        else:
            z_kpa = _convert(float(zero), u, "kPa", lim)
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
