"""OIML R76 / JJG 539 MPE, classes and the verification tests, at and around their limits."""

import pytest

from calibration.refdata import load_weighing
from calibration.weighing import (
    ScaleSpec,
    classify,
    fitting_classes,
    mpe,
    mpe_e,
    parse_readings,
    parse_spec,
    required_points,
    verify_scale,
)

REF = load_weighing()


@pytest.mark.parametrize(("cls", "load_e", "expected"), [
    ("III", 0, 0.5), ("III", 500, 0.5), ("III", 501, 1.0), ("III", 2000, 1.0),
    ("III", 2001, 1.5), ("III", 10000, 1.5),
    ("IIII", 50, 0.5), ("IIII", 51, 1.0), ("IIII", 200, 1.0), ("IIII", 201, 1.5),
    ("II", 5000, 0.5), ("II", 5001, 1.0), ("II", 20000, 1.0), ("II", 20001, 1.5),
    ("I", 50000, 0.5), ("I", 50001, 1.0), ("I", 200000, 1.0), ("I", 200001, 1.5),
])
def test_mpe_bands_at_class_boundaries(cls, load_e, expected):
    assert mpe_e(load_e, REF.cls(cls)) == expected
    assert mpe_e(load_e, REF.cls(cls), in_service=True) == 2 * expected


def test_mpe_in_mass_units_and_in_service_doubling():
    # class III, e = 5 g: 2 000 g = 400 e → 0.5 e = 2.5 g; in service 5 g
    assert mpe(2000, e=5, accuracy_class="III") == 2.5
    assert mpe(2000, e=5, accuracy_class="III", in_service=True) == 5.0
    # 2 500 g = 500 e (still ±0.5 e), 2 505 g = 501 e (±1 e)
    assert mpe(2500, e=5, accuracy_class="III") == 2.5
    assert mpe(2505, e=5, accuracy_class="III") == 5.0
    assert mpe(10005, e=5, accuracy_class="iii", in_service=True) == 15.0


def test_unknown_class_and_bad_e_are_refused():
    with pytest.raises(ValueError, match="class 'V'"):
        mpe(1, e=1, accuracy_class="V")
    with pytest.raises(ValueError, match="e must be positive"):
        mpe(1, e=0, accuracy_class="III")


def test_classification_from_e_and_n():
    assert classify(5, 3000) == "III"           # market trade scale 15 kg / 5 g
    assert "III" not in fitting_classes(5, 400)  # e ≥ 5 g needs n ≥ 500 in class III
    assert classify(50, 300) == "IIII"
    assert classify(0.001, 60000) == "I"
    assert classify(0.01, 20000) == "II"
    with pytest.raises(ValueError, match="no accuracy class"):
        classify(5, 50)


def test_household_body_scale_default_is_class_iiii_and_unconfirmed():
    assert REF.household_body_scale_class == "IIII"
    assert REF.household_body_scale_confirmed is False


SPEC = ScaleSpec(max=15000, e=5, accuracy_class="III")  # n = 3000, Min 20 e = 100 g


def test_points_cover_zero_min_change_points_and_fractions():
    loads = [p for _, p in required_points(SPEC)]
    assert loads == [0, 100, 2500, 3750, 7500, 10000, 11250, 15000]


def good_readings(**over):
    r = {
        "weighing": [{"load": p, "indication": p} for p in (0, 100, 2500, 3750, 7500, 10000,
                                                              11250, 15000)],
        "eccentricity": [{"position": q, "load": 5000, "indication": 5000}
                         for q in ("front-left", "front-right", "back-left", "back-right")],
        "repeatability": [{"load": 15000, "indication": i} for i in (15000, 15005, 15000)],
        "discrimination": [{"load": 100, "extra": 7, "before": 100, "after": 105}],
        "standard_weights": [{"nominal": 10000, "mpe": 0.5}, {"nominal": 5000, "mpe": 0.25}],
    }
    r.update(over)
    return parse_readings(r)


def test_good_scale_passes_every_check():
    rep = verify_scale(SPEC, good_readings())
    assert rep.passed, [c.message for c in rep.failures()]
    names = {c.name for c in rep.checks}
    assert {"accuracy class", "eccentricity", "repeatability", "weighing test points"} <= names


def _check(rep, prefix):
    return [c for c in rep.checks if c.name.startswith(prefix)]


def test_weighing_exactly_at_mpe_passes_one_digit_over_fails():
    spec = ScaleSpec(max=15000, e=5, accuracy_class="III", in_service=True)
    # 7 500 g = 1 500 e → in service MPE 2 × 1 e = 10 g; d = 5 g
    at = verify_scale(spec, good_readings(weighing=[{"load": 7500, "indication": 7510}]))
    c = _check(at, "weighing #1")[0]
    assert c.passed and c.numbers["error"] == 10 and c.numbers["mpe"] == 10
    over = verify_scale(spec, good_readings(weighing=[{"load": 7500, "indication": 7515}]))
    c = _check(over, "weighing #1")[0]
    assert not c.passed and "exceeds MPE ±10" in c.message
    assert not over.passed


def test_changeover_point_error_before_rounding():
    # E = I + ½e − ΔL − L: indication 2 500, ΔL 1 g → E = 2500 + 2.5 − 1 − 2500 = 1.5
    rep = verify_scale(SPEC, good_readings(weighing=[{"load": 2500, "indication": 2500,
                                                      "delta_l": 1}]))
    c = _check(rep, "weighing #1")[0]
    assert c.numbers["error"] == pytest.approx(1.5) and c.passed
    # ΔL 0 → E = +2.5 = MPE (0.5 e at 500 e): passes exactly at the limit
    rep = verify_scale(SPEC, good_readings(weighing=[{"load": 2500, "indication": 2500,
                                                      "delta_l": 0}]))
    assert _check(rep, "weighing #1")[0].passed
    # at 2 505 g (501 e) the MPE is 1 e; error 5 + 2.5 − 0 → 7.5 > 5 fails
    rep = verify_scale(SPEC, good_readings(weighing=[{"load": 2505, "indication": 2510,
                                                      "delta_l": 0}]))
    c = _check(rep, "weighing #1")[0]
    assert not c.passed and c.numbers["mpe"] == 5


def test_missing_test_points_are_named():
    rep = verify_scale(SPEC, good_readings(weighing=[{"load": 0, "indication": 0},
                                                     {"load": 15000, "indication": 15000}]))
    c = _check(rep, "weighing test points")[0]
    assert not c.passed
    assert "500 e (MPE change) (2500 g)" in c.message and "Min (100 g)" in c.message


def test_eccentricity_limits():
    # 5 000 g = 1 000 e: MPE 1 e = 5 g
    ecc = [{"position": q, "load": 5000, "indication": 5000} for q in "ABCD"]
    ecc[2]["indication"] = 5005
    assert _check(verify_scale(SPEC, good_readings(eccentricity=ecc)), "eccentricity")[0].passed
    ecc[2]["indication"] = 5010
    c = _check(verify_scale(SPEC, good_readings(eccentricity=ecc)), "eccentricity")[0]
    assert not c.passed and "position C" in c.message
    three = [{"position": q, "load": 5000, "indication": 5000} for q in "ABC"]
    c = _check(verify_scale(SPEC, good_readings(eccentricity=three)), "eccentricity")[0]
    assert not c.passed and "need 4" in c.message
    light = [{"position": q, "load": 1000, "indication": 1000} for q in "ABCD"]
    c = _check(verify_scale(SPEC, good_readings(eccentricity=light)), "eccentricity")[0]
    assert not c.passed and "1/3 Max" in c.message


def test_repeatability_spread_against_mpe():
    # 15 000 g = 3 000 e: MPE 1.5 e = 7.5 g; spread 5 passes, spread 10 fails
    ok = [{"load": 15000, "indication": i} for i in (15000, 15005, 14995)]
    c = _check(verify_scale(SPEC, good_readings(repeatability=ok)), "repeatability")[0]
    assert not c.passed and c.numbers["spread"] == 10 and c.numbers["mpe"] == 7.5
    ok = [{"load": 15000, "indication": i} for i in (15000, 15005, 15005)]
    assert _check(verify_scale(SPEC, good_readings(repeatability=ok)), "repeatability")[0].passed
    two = [{"load": 15000, "indication": 15000}] * 2
    c = _check(verify_scale(SPEC, good_readings(repeatability=two)), "repeatability")[0]
    assert not c.passed and "need 3" in c.message


def test_discrimination():
    d = [{"load": 100, "extra": 7, "before": 100, "after": 100}]
    c = _check(verify_scale(SPEC, good_readings(discrimination=d)), "discrimination")[0]
    assert not c.passed and "changed the display by 0" in c.message
    d = [{"load": 100, "extra": 10, "before": 100, "after": 110}]  # 2 d is not a valid test
    c = _check(verify_scale(SPEC, good_readings(discrimination=d)), "discrimination")[0]
    assert not c.passed and "not a discrimination test" in c.message


def test_standard_weights_one_third_of_mpe():
    # 10 000 g = 2 000 e → MPE 5 g; 1/3 = 1.6667 g
    w = [{"nominal": 10000, "mpe": 1.6}]
    assert _check(verify_scale(SPEC, good_readings(standard_weights=w)), "standard")[0].passed
    w = [{"nominal": 10000, "mpe": 1.7}]
    c = _check(verify_scale(SPEC, good_readings(standard_weights=w)), "standard")[0]
    assert not c.passed and c.numbers["limit"] == pytest.approx(5 / 3)


def test_missing_sections_fail_as_not_performed():
    rep = verify_scale(SPEC, parse_readings({"weighing": [{"load": 0, "indication": 0}]}))
    missing = {c.name for c in rep.checks if c.message.startswith("not performed")}
    assert missing == {"eccentricity", "repeatability", "discrimination", "standard weights"}
    assert rep.outcome == "fail"


def test_declared_class_that_does_not_fit_fails():
    spec = ScaleSpec(max=150000, e=5, accuracy_class="III")  # n = 30 000 > 10 000
    c = _check(verify_scale(spec, good_readings()), "accuracy class")[0]
    assert not c.passed and "does not admit" in c.message


def test_bad_input_names_field_and_row():
    with pytest.raises(ValueError) as e:
        parse_readings({"weighing": [{"load": 1, "indication": "x"}, {"load": 2}],
                        "bogus": []})
    msg = str(e.value)
    assert "weighing #1: indication is not a number" in msg
    assert "weighing #2: indication missing" in msg and "unknown test(s): bogus" in msg
    with pytest.raises(ValueError, match="instrument.e missing"):
        parse_spec({"max": 100})
    assert parse_spec({"max": 15000, "e": 5}).accuracy_class in ("II", "III")


# issue 16: a scale stated in kg was checked against class limits that are in grams
KG = ScaleSpec(max=30, e=0.01, accuracy_class="III", unit="kg")  # 30 kg / 10 g, n = 3 000


def kg_readings():
    pts = (0, 0.2, 5, 7.5, 15, 20, 22.5, 30)
    return parse_readings({
        "weighing": [{"load": p, "indication": p} for p in pts],
        "eccentricity": [{"position": q, "load": 10, "indication": 10.01} for q in "ABCD"],
        "repeatability": [{"load": 30, "indication": i} for i in (30, 30.01, 30)],
        "discrimination": [{"load": 0.2, "extra": 0.014, "before": 0.2, "after": 0.21}],
        "standard_weights": [{"nominal": 20, "mpe": 0.001}],
    })


def test_scale_in_kg_is_classified_in_grams():
    assert classify(0.01, 3000, unit="kg") == "III"
    assert fitting_classes(10, 3000, unit="g") == fitting_classes(0.01, 3000, unit="kg")
    c = _check(verify_scale(KG, kg_readings()), "accuracy class")[0]
    assert c.passed, c.message
    assert "e = 0.01 kg" in c.message and "10 g" in c.message
    spec = parse_spec({"max": 30, "e": 0.01, "unit": "kg"})
    assert spec.accuracy_class == "III" and spec.unit == "kg"


def test_scale_in_kg_full_verification_matches_grams():
    rep = verify_scale(KG, kg_readings())
    assert rep.passed, [c.message for c in rep.failures()]
    # Min 20 e = 0.2 kg; MPE change points 500 e = 5 kg, 2 000 e = 20 kg
    assert [p for _, p in required_points(KG)] == pytest.approx([0, 0.2, 5, 7.5, 15, 20, 22.5, 30])
    assert mpe(25, e=0.01, accuracy_class="III") == pytest.approx(0.015)


def test_unknown_mass_unit_is_refused():
    with pytest.raises(ValueError, match="unit 'lb'"):
        parse_spec({"max": 30, "e": 0.01, "unit": "lb"})
    with pytest.raises(ValueError, match="unit 'lb'"):
        classify(0.01, 3000, unit="lb")
