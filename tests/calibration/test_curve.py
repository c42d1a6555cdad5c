"""Calibration line fit against the worked example of Miller & Miller (6th ed., ex. 5.3.1/5.9)."""

import numpy as np
import pytest

from calibration.curve import fit_line

# fluorescence of standards: x in pg/mL, y in arbitrary units
X = [0, 2, 4, 6, 8, 10, 12]
Y = [2.1, 5.0, 9.0, 12.6, 17.3, 21.0, 24.7]


def test_unweighted_fit_matches_published_values():
    f = fit_line(X, Y)
    assert f.slope == pytest.approx(1.93, abs=0.005)
    assert f.intercept == pytest.approx(1.52, abs=0.005)
    assert f.r == pytest.approx(0.9989, abs=0.00005)
    assert f.s_yx == pytest.approx(0.4329, abs=0.0001)
    assert f.se_slope == pytest.approx(0.0409, abs=0.0001)
    assert f.se_intercept == pytest.approx(0.2950, abs=0.0001)
    assert sum(f.residuals) == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize(("y0", "x0", "s_x0"), [(2.9, 0.72, 0.26), (13.5, 6.21, 0.24),
                                                (23.0, 11.13, 0.26)])
def test_read_back_uncertainty_matches_published_values(y0, x0, s_x0):
    rb = fit_line(X, Y).read_back(y0)
    assert rb["x0"] == pytest.approx(x0, abs=0.005)
    assert rb["s_x0"] == pytest.approx(s_x0, abs=0.005)
    assert rb["ci_low"] < x0 < rb["ci_high"]


def test_read_back_is_tightest_near_the_centroid():
    f = fit_line(X, Y)
    centre = f.predict(np.mean(X))
    assert f.read_back(centre)["s_x0"] < f.read_back(2.9)["s_x0"]
    assert f.read_back(13.5, replicates=4)["s_x0"] < f.read_back(13.5)["s_x0"]


def test_weighted_fit_follows_the_heavy_points():
    x = [0, 1, 2, 3, 4]
    y = [1.0, 3.0, 5.0, 7.0, 12.0]   # the last point is off the line y = 1 + 2x
    plain = fit_line(x, y)
    heavy = fit_line(x, y, weights=[1e6, 1e6, 1e6, 1e6, 1])
    assert heavy.weighted and not plain.weighted
    assert heavy.slope == pytest.approx(2.0, abs=1e-3) and heavy.intercept == pytest.approx(1.0,
                                                                                       abs=1e-3)
    assert abs(plain.slope - 2.0) > 0.5
    equal = fit_line(X, Y, weights=[3.0] * 7)   # equal weights = ordinary fit
    assert equal.slope == pytest.approx(fit_line(X, Y).slope)
    assert equal.read_back(13.5)["s_x0"] == pytest.approx(fit_line(X, Y).read_back(13.5)["s_x0"])


def test_bad_input():
    with pytest.raises(ValueError, match="at least 3 points"):
        fit_line([1, 2], [1, 2])
    with pytest.raises(ValueError, match="all x values are equal"):
        fit_line([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="weights"):
        fit_line([1, 2, 3], [1, 2, 3], weights=[1, 0, 1])
