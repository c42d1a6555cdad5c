"""Wilson 95 % intervals against published values, scalar and array forms alike."""

import math

import numpy as np
import pytest

from lims.reporting.stats import wilson_arrays, wilson_interval


def test_published_values():
    # Newcombe (1998), method 3: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    lo, hi = wilson_interval(0, 10)       # all failed: lower bound 0, upper 0.2775
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_array_form_matches_scalar():
    passes, n = np.array([81, 15, 0, 10, 0]), np.array([263, 148, 10, 10, 0])
    p, lo, hi = wilson_arrays(passes, n)
    for i in range(4):
        assert (lo[i], hi[i]) == pytest.approx(wilson_interval(int(passes[i]), int(n[i])))
        assert p[i] == pytest.approx(passes[i] / n[i])
    assert math.isnan(p[4]) and math.isnan(lo[4]) and math.isnan(hi[4])


@pytest.mark.parametrize("n", [1, 4, 7, 25, 263, 10_000])
def test_bounds_are_exact_at_zero_and_all_passes(n):
    # floating point used to give 0.9999999999999999 at 4/4: the rate fell outside its interval
    assert wilson_interval(n, n)[1] == 1.0 and wilson_interval(0, n)[0] == 0.0
    _, lo, hi = wilson_arrays(np.array([n, 0]), np.array([n, n]))
    assert hi[0] == 1.0 and lo[1] == 0.0
