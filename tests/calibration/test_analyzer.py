"""JJF 1729 analyzer calibration items at their limits."""

import pytest

from calibration.analyzer import inhibition_pct, verify_analyzer
from calibration.refdata import load_analyzer

LIM = load_analyzer()


def good(**over):
    r = {
        "conditions": {"temperature_c": 22, "humidity_pct": 60},
        "wavelength": [{"nominal_nm": 410, "measured_nm": 413}],
        "transmittance": [{"nominal_pct": 10.0, "readings": [10.2, 10.4, 10.3]},
                          {"nominal_pct": 30.0, "readings": [29.1, 29.0, 29.2]}],
        "drift": {"readings": [0.500, 0.503, 0.498, 0.505], "minutes": 10},
        "channels": {"1": 0.512, "2": 0.530, "3": 0.520},
        "sensitivity": [{"analyte": "methamidophos", "control_delta": 0.40, "sample_delta": 0.12},
                        {"analyte": "灭多威", "inhibition_pct": 61.0}],
    }
    r.update(over)
    return r


def names_failed(rep):
    return [c.name for c in rep.failures()]


def test_good_analyzer_passes():
    rep = verify_analyzer(good())
    assert rep.passed, [c.message for c in rep.failures()]


def test_inhibition_formula_worked_example():
    # domain.md §2.1: ΔA0 = 0.303, ΔAt = 0.131 → 56.77 %
    assert inhibition_pct(0.303, 0.131) == pytest.approx(56.77, abs=0.005)


def test_wavelength_at_and_over_limit():
    assert verify_analyzer(good(wavelength=[{"nominal_nm": 410, "measured_nm": 400}])).passed
    rep = verify_analyzer(good(wavelength=[{"nominal_nm": 410, "measured_nm": 420.5}]))
    assert names_failed(rep) == ["wavelength 410 nm"]


def test_transmittance_error_and_repeatability():
    at = good(transmittance=[{"nominal_pct": 20.0, "readings": [22.0, 22.0, 22.0]}])
    assert verify_analyzer(at).passed
    over = good(transmittance=[{"nominal_pct": 20.0, "readings": [22.1, 22.1, 22.1]}])
    assert names_failed(verify_analyzer(over)) == ["transmittance 20 %"]
    rep_at = good(transmittance=[{"nominal_pct": 20.0, "readings": [20.0, 20.5, 20.25]}])
    assert verify_analyzer(rep_at).passed
    rep_over = good(transmittance=[{"nominal_pct": 20.0, "readings": [20.0, 20.6, 20.3]}])
    rep = verify_analyzer(rep_over)
    assert names_failed(rep) == ["transmittance 20 %"]
    assert "repeatability 0.6 % (> 0.5 %)" in rep.failures()[0].message


def test_drift_channels_sensitivity_limits():
    assert verify_analyzer(good(drift={"readings": [0.5, 0.51], "minutes": 10})).passed
    assert names_failed(verify_analyzer(good(drift={"readings": [0.5, 0.5105]}))) == [
        "absorbance drift"]
    assert names_failed(verify_analyzer(good(drift={"readings": [0.5, 0.5], "minutes": 5}))) == [
        "absorbance drift"]
    assert verify_analyzer(good(channels={"1": 0.50, "2": 0.55})).passed
    rep = verify_analyzer(good(channels={"1": 0.50, "2": 0.56, "3": 0.52}))
    assert "channel 2 − channel 1" in rep.failures()[0].message
    low = good(sensitivity=[{"analyte": "methamidophos", "inhibition_pct": 49.9},
                            {"analyte": "methomyl", "inhibition_pct": 50.0}])
    assert names_failed(verify_analyzer(low)) == ["sensitivity methamidophos 0.8 mg/L"]
    one = good(sensitivity=[{"analyte": "methamidophos", "inhibition_pct": 80}])
    rep = verify_analyzer(one)
    assert names_failed(rep) == ["sensitivity methomyl 0.1 mg/L"]


def test_conditions_and_missing_sections():
    rep = verify_analyzer(good(conditions={"temperature_c": 36, "humidity_pct": 50}))
    assert names_failed(rep) == ["conditions"]
    rep = verify_analyzer({"wavelength": [{"nominal_nm": 410, "measured_nm": 410}]})
    assert set(names_failed(rep)) == {"conditions", "transmittance", "drift", "channels",
                                      "sensitivity"}


def test_bad_readings_are_named():
    with pytest.raises(ValueError, match="wavelength #1.measured_nm: not a number"):
        verify_analyzer(good(wavelength=[{"nominal_nm": 410, "measured_nm": "x"}]))
    with pytest.raises(ValueError, match="unknown section"):
        verify_analyzer(good(colour=[]))
