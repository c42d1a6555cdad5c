"""Rapid pesticide residue analyzers (enzyme inhibition photometers), calibrated per JJF 1729.

Readings (each section one test; a missing section is a failing "not performed" check):

* ``conditions``: ``temperature_c``, ``humidity_pct``
* ``wavelength``: list of ``{"nominal_nm", "measured_nm"}``
* ``transmittance``: list of ``{"nominal_pct", "readings": [..]}`` per reference filter
* ``drift``: ``{"readings": [A(0), …, A(t)], "minutes": t}`` absorbance over the drift period
* ``channels``: ``{"channel": absorbance, …}`` one solution read in every channel
* ``sensitivity``: list of ``{"analyte", "control_delta", "sample_delta"}`` (or ``inhibition_pct``)
  for each reference solution of the limits (0.8 mg/L methamidophos, 0.1 mg/L methomyl)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from calibration.refdata import AnalyzerLimits, load_analyzer
from calibration.report import Check, Report, at_least, at_most, within

SECTIONS = ("conditions", "wavelength", "transmittance", "drift", "channels", "sensitivity")


def inhibition_pct(control_delta: float, sample_delta: float) -> float:
    """(ΔA0 − ΔAt) / ΔA0 × 100 (GB/T 5009.199-2003)."""
    if control_delta <= 0:
        raise ValueError(f"control ΔA0 must be positive, got {control_delta}")
    return (control_delta - sample_delta) / control_delta * 100.0


def _f(v: Any, where: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: not a number: {v!r}") from None


def check_conditions(c: dict, lim: AnalyzerLimits) -> Check:
    t = _f(c.get("temperature_c"), "conditions.temperature_c")
    h = _f(c.get("humidity_pct"), "conditions.humidity_pct")
    ok = (at_least(t, lim.temperature_min_c) and at_most(t, lim.temperature_max_c)
          and at_most(h, lim.humidity_max_pct))
    return Check("conditions", ok,
                 f"{t:g} °C (need {lim.temperature_min_c:g}–{lim.temperature_max_c:g}), "
                 f"RH {h:g} % (need ≤ {lim.humidity_max_pct:g})",
                 {"temperature_c": t, "humidity_pct": h})


def check_wavelength(rows: list[dict], lim: AnalyzerLimits) -> list[Check]:
    out = []
    for i, r in enumerate(rows, start=1):
        nom = _f(r.get("nominal_nm"), f"wavelength #{i}.nominal_nm")
        meas = _f(r.get("measured_nm"), f"wavelength #{i}.measured_nm")
        err = meas - nom
        ok = within(err, lim.wavelength_mpe_nm)
        out.append(Check(f"wavelength {nom:g} nm", ok,
                         f"error {err:+g} nm {'within' if ok else 'exceeds'} "
                         f"±{lim.wavelength_mpe_nm:g} nm",
                         {"nominal_nm": nom, "measured_nm": meas, "error_nm": err,
                          "mpe_nm": lim.wavelength_mpe_nm}))
    return out


def check_transmittance(rows: list[dict], lim: AnalyzerLimits) -> list[Check]:
    out = []
    for i, r in enumerate(rows, start=1):
        nom = _f(r.get("nominal_pct"), f"transmittance #{i}.nominal_pct")
        vals = np.array([_f(v, f"transmittance #{i}.readings") for v in r.get("readings", [])])
        if len(vals) < lim.transmittance_min_readings:
            out.append(Check(f"transmittance {nom:g} %", False,
                             f"{len(vals)} reading(s), need {lim.transmittance_min_readings}",
                             {"nominal_pct": nom}))
            continue
        err = float(vals.mean() - nom)
        rng = float(vals.max() - vals.min())
        ok_e = within(err, lim.transmittance_mpe_pct)
        ok_r = at_most(rng, lim.transmittance_repeatability_pct)
        out.append(Check(
            f"transmittance {nom:g} %", ok_e and ok_r,
            f"error {err:+.3g} % ({'within' if ok_e else 'exceeds'} ±{lim.transmittance_mpe_pct:g}"
            f" %), repeatability {rng:.3g} % ({'≤' if ok_r else '>'} "
            f"{lim.transmittance_repeatability_pct:g} %)",
            {"nominal_pct": nom, "mean_pct": float(vals.mean()), "error_pct": err,
             "repeatability_pct": rng, "mpe_pct": lim.transmittance_mpe_pct,
             "repeatability_limit_pct": lim.transmittance_repeatability_pct}))
    return out


def check_drift(d: dict, lim: AnalyzerLimits) -> Check:
    vals = np.array([_f(v, "drift.readings") for v in d.get("readings", [])])
    minutes = _f(d.get("minutes", lim.drift_period_min), "drift.minutes")
    if len(vals) < 2:
        return Check("absorbance drift", False, "need at least two readings (start and end)")
    drift = float(np.max(np.abs(vals - vals[0])))
    ok_t = at_least(minutes, lim.drift_period_min)
    ok = at_most(drift, lim.absorbance_drift_max) and ok_t
    msg = f"largest |A(t) − A(0)| = {drift:.4g} ({'≤' if ok else '>'} {lim.absorbance_drift_max:g})"
    if not ok_t:
        msg += f"; observed {minutes:g} min, need {lim.drift_period_min:g} min"
    return Check("absorbance drift", ok, msg,
                 {"drift": drift, "limit": lim.absorbance_drift_max, "minutes": minutes})


def check_channels(ch: dict, lim: AnalyzerLimits) -> Check:
    vals = {str(k): _f(v, f"channels.{k}") for k, v in ch.items()}
    if len(vals) < 2:
        return Check("channel difference", False, "need readings from at least two channels")
    hi = max(vals, key=vals.__getitem__)
    lo = min(vals, key=vals.__getitem__)
    diff = vals[hi] - vals[lo]
    ok = at_most(diff, lim.channel_difference_max)
    return Check("channel difference", ok,
                 f"channel {hi} − channel {lo} = {diff:.4g} ({'≤' if ok else '>'} "
                 f"{lim.channel_difference_max:g})",
                 {"channels": vals, "difference": diff, "limit": lim.channel_difference_max})


def check_sensitivity(rows: list[dict], lim: AnalyzerLimits) -> list[Check]:
    by = {str(r.get("analyte", "")).strip().lower(): r for r in rows}
    out = []
    for sol in lim.reference_solutions:
        r = by.get(sol.analyte.lower()) or by.get(sol.name_zh.lower())
        name = f"sensitivity {sol.analyte} {sol.concentration_mg_l:g} mg/L"
        if r is None:
            out.append(Check(name, False, "reference solution not tested"))
            continue
        if r.get("inhibition_pct") is not None:
            inh = _f(r["inhibition_pct"], f"sensitivity {sol.analyte}.inhibition_pct")
        else:
            inh = inhibition_pct(_f(r.get("control_delta"), f"sensitivity {sol.analyte}.control_delta"),
                                 _f(r.get("sample_delta"), f"sensitivity {sol.analyte}.sample_delta"))
        ok = at_least(inh, lim.sensitivity_min_inhibition_pct)
        out.append(Check(name, ok,
                         f"inhibition {inh:.4g} % ({'≥' if ok else '<'} "
                         f"{lim.sensitivity_min_inhibition_pct:g} %)",
                         {"inhibition_pct": inh, "min_pct": lim.sensitivity_min_inhibition_pct,
                          "concentration_mg_l": sol.concentration_mg_l}))
    return out


def verify_analyzer(readings: dict[str, Any], limits: AnalyzerLimits | None = None,
                    instrument: dict[str, Any] | None = None) -> Report:
    """All JJF 1729 items; ValueError (naming the field) on malformed readings."""
    lim = limits or load_analyzer()
    unknown = set(readings) - set(SECTIONS)
    if unknown:
        raise ValueError(f"analyzer readings: unknown section(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(SECTIONS)})")
    rep = Report("analyzer_calibration", instrument or {}, lim.provenance.to_dict())
    for s in SECTIONS:
        if not readings.get(s):
            rep.checks.append(Check(s, False, "not performed (no readings)"))
    if readings.get("conditions"):
        rep.checks.append(check_conditions(readings["conditions"], lim))
    if readings.get("wavelength"):
        rep.checks += check_wavelength(readings["wavelength"], lim)
    if readings.get("transmittance"):
        rep.checks += check_transmittance(readings["transmittance"], lim)
    if readings.get("drift"):
        rep.checks.append(check_drift(readings["drift"], lim))
    if readings.get("channels"):
        rep.checks.append(check_channels(readings["channels"], lim))
    if readings.get("sensitivity"):
        rep.checks += check_sensitivity(readings["sensitivity"], lim)
    return rep
