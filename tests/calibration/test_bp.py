"""Blood-pressure static check limits in mmHg and kPa."""

import pytest

from calibration.bp import bp_mpe, kpa_to_mmhg, mmhg_to_kpa, verify_bp
from calibration.refdata import load_bp

LIM = load_bp()


def pts(*pairs):
    return [{"reference": r, "indicated": i} for r, i in pairs]


def test_conversion_factor_from_reference_data():
    assert LIM.mmhg_per_kpa == 7.5006
    assert kpa_to_mmhg(1.0) == pytest.approx(7.5006)
    assert mmhg_to_kpa(7.5006) == pytest.approx(1.0)


def test_exactly_at_limit_passes_and_one_step_over_fails_mmhg():
    assert bp_mpe("mmHg", in_service=False) == 3.0
    rep = verify_bp(pts((0, 0), (100, 103), (200, 197)))
    assert rep.passed, [c.message for c in rep.failures()]
    rep = verify_bp(pts((0, 0), (100, 104), (200, 200)))
    assert not rep.passed
    (bad,) = rep.failures()
    assert bad.name == "point #2 at 100 mmHg" and bad.numbers["error"] == 4


def test_in_service_limit_is_wider():
    assert verify_bp(pts((0, 0), (100, 104), (200, 200)), in_service=True).passed
    assert not verify_bp(pts((0, 0), (100, 105), (200, 200)), in_service=True).passed


def test_kpa_limits():
    assert verify_bp(pts((0, 0), (13.3, 13.7), (26.7, 26.3)), unit="kpa").passed
    rep = verify_bp(pts((0, 0), (13.3, 13.8), (26.7, 26.7)), unit="kPa")
    assert [c.name for c in rep.failures()] == ["point #2 at 13.3 kPa"]
    assert rep.failures()[0].numbers["error_mmhg"] == pytest.approx(0.5 * 7.5006)


def test_too_few_points_fail():
    rep = verify_bp(pts((0, 0), (100, 100)))
    assert [c.name for c in rep.failures()] == ["number of points"]


def test_mercury_zero_range():
    ok = verify_bp(pts((0, 0), (100, 100), (200, 200)), kind="mercury", zero=0.5, unit="kPa")
    assert ok.passed
    bad = verify_bp(pts((0, 0), (100, 100), (200, 200)), kind="mercury", zero=-0.3, unit="kPa")
    assert [c.name for c in bad.failures()] == ["mercury zero"]
    # -1.5 mmHg = -0.2 kPa: at the limit
    at = verify_bp(pts((0, 0), (100, 100), (200, 200)), kind="mercury", zero=-0.2 * 7.5006)
    assert at.passed


def test_bad_points_and_unit_are_named():
    with pytest.raises(ValueError, match="point #2: indicated is not a number"):
        verify_bp(pts((0, 0), (100, "x"), (200, 200)))
    with pytest.raises(ValueError, match="unit 'bar'"):
        verify_bp(pts((0, 0)), unit="bar")
