"""Blood-pressure static check limits in mmHg and kPa."""

import pytest

from calibration.bp import bp_kind, bp_mpe, kpa_to_mmhg, mmhg_to_kpa, verify_bp
from calibration.refdata import load_bp

LIM = load_bp()


def pts(*pairs):
    return [{"reference": r, "indicated": i} for r, i in pairs]


def test_conversion_factor_from_reference_data():
    # 1 mmHg = 133.322 387 415 Pa → 1 kPa = 7.500 616 mmHg (domain.md rounds it to 7.5006)
    assert LIM.mmhg_per_kpa == pytest.approx(1000 / 133.322387415, rel=1e-9)
    assert kpa_to_mmhg(1.0) == pytest.approx(7.50062, abs=5e-6)
    assert mmhg_to_kpa(7.500615758) == pytest.approx(1.0)


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
    # ±3 mmHg initial = ±0.39997 kPa: 0.39 kPa passes; 0.4 kPa is 3.0002 mmHg and fails, as
    # 3.0002 mmHg does in mmHg
    assert bp_mpe("kPa", in_service=False) == pytest.approx(3 / 7.500615758)
    assert verify_bp(pts((0, 0), (13.3, 13.69), (26.7, 26.31)), unit="kpa").passed
    rep = verify_bp(pts((0, 0), (13.3, 13.8), (26.7, 26.7)), unit="kPa")
    assert [c.name for c in rep.failures()] == ["point #2 at 13.3 kPa"]
    assert rep.failures()[0].numbers["error_mmhg"] == pytest.approx(0.5 * 7.500615758)
    assert not verify_bp(pts((0, 0), (13.3, 13.7), (26.7, 26.7)), unit="kPa").passed
    assert not verify_bp(pts((0, 0), (100, 103.0002), (200, 200))).passed


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


# issue 16: +3.9 mmHg in service passed in mmHg but failed in kPa (0.5 kPa is not 4 mmHg)
def _points_with_error(err_mmhg, unit):
    refs = (0.0, 100.0, 200.0)
    if unit == "kPa":
        return pts(*[(mmhg_to_kpa(r), mmhg_to_kpa(r + (err_mmhg if r == 100 else 0)))
                     for r in refs])
    return pts(*[(r, r + (err_mmhg if r == 100 else 0)) for r in refs])


@pytest.mark.parametrize("unit", ["mmHg", "kPa"])
def test_same_error_same_verdict_in_both_units(unit):
    assert verify_bp(_points_with_error(3.9, unit), unit=unit, in_service=True).passed
    assert not verify_bp(_points_with_error(4.1, unit), unit=unit, in_service=True).passed
    assert verify_bp(_points_with_error(2.9, unit), unit=unit).passed
    assert not verify_bp(_points_with_error(3.1, unit), unit=unit).passed


def test_kpa_limit_is_the_exact_conversion():
    assert bp_mpe("kPa", in_service=True) == pytest.approx(4 / 7.500615758)  # 0.5333, not 0.5
    rep = verify_bp(_points_with_error(3.9, "kPa"), unit="kPa", in_service=True)
    msg = rep.checks[2].message
    assert "within MPE ±0.5333 kPa (= ±4 mmHg), in service (JJG 692-2010); limit unconfirmed" \
        in msg, msg
    assert rep.reference["mpe_stated"] == 4 and rep.reference["mpe_stated_unit"] == "mmHg"


def test_subsequent_verification_mode():
    lim = LIM.mpe_for("subsequent")
    assert lim.value == 4.0 and lim.confirmed is False and lim.source
    assert bp_mpe("mmHg", mode="subsequent") == 4.0
    rep = verify_bp(_points_with_error(3.9, "kPa"), unit="kPa", mode="subsequent")
    assert rep.passed and rep.instrument["mode"] == "subsequent"
    assert not rep.instrument["in_service"]
    assert verify_bp(_points_with_error(3.9, "mmHg"), mode="后续检定").passed
    assert not verify_bp(_points_with_error(3.9, "mmHg"), mode="initial").passed
    with pytest.raises(ValueError, match="verification mode 'annual'"):
        verify_bp(_points_with_error(0, "mmHg"), mode="annual")
    with pytest.raises(ValueError, match="contradicts in_service"):
        verify_bp(_points_with_error(0, "mmHg"), mode="initial", in_service=True)


def test_every_mode_has_a_sourced_limit_in_the_reference_data():
    assert set(LIM.kinds) == {"automated", "mercury", "aneroid"}
    for k in LIM.kinds.values():
        assert {m.mode for m in k.mpe} == {"initial", "subsequent", "in_service"}
        assert all(m.source for m in k.mpe) and k.code and k.regulation


# issue 16: mercury and aneroid meters were judged with the automated meters' limits
@pytest.mark.parametrize("kind", ["mercury", "aneroid", "水银血压计", "血压表"])
def test_mercury_and_aneroid_meters_get_jjg_270_limits(kind):
    reg = LIM.kind(cal_kind := bp_kind(kind))
    assert reg.code == "JJG 270-2008" and reg.limit_unit == "kPa"
    stated = reg.mpe_for("initial")
    assert stated.unit == "kPa" and stated.confirmed is False  # not read in the official text
    # the JJG 270 limit (0.5 kPa = 3.750 mmHg), not the automated initial ±3 mmHg
    assert bp_mpe("mmHg", mode="initial", kind=kind) == pytest.approx(0.5 * 7.500615758)
    assert bp_mpe("kPa", mode="initial", kind=kind) == pytest.approx(0.5)
    zero = {"zero": 0.0} if cal_kind == "mercury" else {}
    rep = verify_bp(_points_with_error(3.5, "mmHg"), mode="initial", kind=kind, **zero)
    assert rep.passed, [c.message for c in rep.failures()]
    assert "JJG 270-2008" in rep.checks[2].message and rep.instrument["kind"] == cal_kind
    assert rep.reference["regulation_code"] == "JJG 270-2008"
    assert not verify_bp(_points_with_error(3.5, "mmHg"), mode="initial").passed  # automated
    # in kPa the same physical error gets the same verdict
    assert verify_bp(_points_with_error(3.7, "kPa"), unit="kPa", kind=kind, **zero).passed
    assert not verify_bp(_points_with_error(3.8, "kPa"), unit="kPa", kind=kind, **zero).passed
    assert not verify_bp(_points_with_error(3.8, "mmHg"), kind=kind, **zero).passed


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind 'digital-ish' must be one of automated"):
        verify_bp(_points_with_error(0, "mmHg"), kind="digital-ish")
