"""Issue 16: Wilson intervals for sensitivity/specificity against an independent oracle (scipy),
and the flag when a kit's false-negative or false-positive rate exceeds the evaluation limits."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest

from lims.errors import ConfigError
from lims.reporting.agreement import (
    EVALUATION_FILE,
    EvaluationLimits,
    evaluation_flags,
    read_evaluation_limits,
    table_stats,
)


def _scipy(k: int, n: int) -> tuple[float, float]:
    """scipy's Wilson interval (exact z; ours uses z = 1.959964, so agree to ~1e-9)."""
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


@pytest.mark.parametrize(("n11", "n12", "n21", "n22"), [
    (45, 5, 8, 142), (3, 1, 2, 4), (10, 0, 0, 7), (0, 4, 6, 0), (1, 0, 0, 1), (97, 3, 12, 88)])
def test_wilson_intervals_match_scipy(n11, n12, n21, n22):
    s = table_stats(n11, n12, n21, n22)
    assert s.sensitivity_ci == pytest.approx(_scipy(n11, n11 + n12), abs=1e-7)
    assert s.specificity_ci == pytest.approx(_scipy(n22, n21 + n22), abs=1e-7)
    lo, hi = s.sensitivity_ci
    assert lo <= s.sensitivity <= hi


def test_wilson_hand_computed_value():
    # 45 of 50: p = 0.9, z = 1.959964; centre = (0.9 + z²/100)/(1 + z²/50),
    # half = z·sqrt(0.9·0.1/50 + z²/10000)/(1 + z²/50) → (0.78640, 0.95652)
    z = 1.959964
    d = 1 + z * z / 50
    centre, half = (0.9 + z * z / 100) / d, z * math.sqrt(0.09 / 50 + z * z / 10000) / d
    s = table_stats(45, 5, 8, 142)
    assert s.sensitivity_ci == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert s.sensitivity_ci == pytest.approx((0.78640, 0.95652), abs=1e-5)


def test_no_reference_positives_no_interval():
    s = table_stats(0, 0, 2, 5)
    assert s.sensitivity is None and s.sensitivity_ci is None
    assert s.specificity_ci == pytest.approx(_scipy(5, 7), abs=1e-7)


LIMITS = EvaluationLimits(0.05, 0.15, confirmed=False, standard="KJ", source="test")


def test_flag_when_a_rate_exceeds_its_limit():
    # FNR = 5/50 = 10 % > 5 %; FPR = 8/150 = 5.3 % ≤ 15 %
    (flag,) = evaluation_flags(table_stats(45, 5, 8, 142), LIMITS)
    assert flag.startswith("false-negative rate 10 % > 5 % (KJ)")
    assert flag.endswith("(limit unconfirmed: check the KJ method)")
    # FNR 1/20 = 5 % is at the limit: not flagged; FPR 16/100 = 16 % > 15 %
    (fp,) = evaluation_flags(table_stats(19, 1, 16, 84), LIMITS)
    assert fp.startswith("false-positive rate 16 % > 15 %")
    assert evaluation_flags(table_stats(19, 1, 15, 85), LIMITS) == ()
    both = evaluation_flags(table_stats(1, 1, 1, 1), LIMITS)
    assert [f.split(" rate")[0] for f in both] == ["false-negative", "false-positive"]
    confirmed = EvaluationLimits(0.05, 0.15, confirmed=True, standard="KJ", source="s")
    assert "unconfirmed" not in evaluation_flags(table_stats(1, 1, 1, 1), confirmed)[0]
    assert evaluation_flags(table_stats(0, 0, 0, 0), LIMITS) == ()


def test_shipped_limits_are_reference_data_and_unconfirmed(tmp_path):
    limits = read_evaluation_limits()
    assert (limits.max_false_negative_rate, limits.max_false_positive_rate) == (0.05, 0.15)
    assert limits.confirmed is False and "UNCONFIRMED" in limits.source
    text = EVALUATION_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "rapid_evaluation.toml"
    bad.write_text(text.replace("max_false_negative_rate = 0.05",
                                "max_false_negative_rate = 5"), encoding="utf-8")
    with pytest.raises(ConfigError, match="max_false_negative_rate"):
        read_evaluation_limits(bad)
    edited = tmp_path / "edited.toml"
    edited.write_text(text.replace("max_false_positive_rate = 0.15",
                                   "max_false_positive_rate = 0.1"), encoding="utf-8")
    assert read_evaluation_limits(edited).max_false_positive_rate == 0.1


def test_report_rows_carry_intervals_and_flags(session, world):
    from tests.lims.reporting.test_agreement import test_pairs_from_the_store

    test_pairs_from_the_store(session, world)   # ENZ-CARD: N11 3, N12 1, N21 2, N22 4
    from lims.reporting.agreement import agreement_report

    (row,) = agreement_report(session=session, method="ENZ-CARD", limits=LIMITS)
    assert row.stats.sensitivity_ci == pytest.approx(_scipy(3, 4), abs=1e-7)
    assert row.stats.specificity_ci == pytest.approx(_scipy(4, 6), abs=1e-7)
    # FNR 1/4 = 25 % > 5 %, FPR 2/6 = 33.3 % > 15 %
    assert [f.split(" rate")[0] for f in row.flags] == ["false-negative", "false-positive"]
    assert "25 % > 5 %" in row.flags[0] and "33.3 % > 15 %" in row.flags[1]
