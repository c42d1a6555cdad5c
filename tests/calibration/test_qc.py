"""Daily QC: control ΔA0, channel consistency, Levey–Jennings and each Westgard rule."""

import pytest

from calibration.qc import (
    Baseline,
    baseline,
    channel_consistency,
    control_check,
    levey_jennings,
    status_of_last,
    westgard,
)
from calibration.refdata import load_qc

B = Baseline(mean=10.0, sd=1.0, n=20)  # z = value − 10


def fired(values, rule):
    return [v.indices for v in westgard(values, B) if v.rule == rule]


def test_1_2s_warning_strictly_beyond_2sd():
    assert fired([10, 12.0, 10], "1-2s") == []          # exactly 2 SD: not beyond
    assert fired([10, 12.01, 10, 7.9], "1-2s") == [[1], [3]]
    v = [x for x in westgard([10, 12.5], B) if x.rule == "1-2s"][0]
    assert v.severity == "warning" and v.points[0]["label"] == "#2"


def test_1_3s():
    assert fired([13.0, 7.0], "1-3s") == []
    assert fired([10, 13.01, 6.9], "1-3s") == [[1], [2]]


def test_2_2s_needs_two_consecutive_on_the_same_side():
    assert fired([12.5, 10, 12.5], "2-2s") == []          # not consecutive
    assert fired([12.5, 7.5], "2-2s") == []               # opposite sides
    assert fired([10, 12.5, 12.1, 10], "2-2s") == [[1, 2]]
    assert fired([7.9, 7.5, 7.0], "2-2s") == [[0, 1, 2]]  # one maximal run, all points named


def test_r_4s_opposite_sides_on_consecutive_points():
    assert fired([12.5, 7.5], "R-4s") == [[0, 1]]
    assert fired([7.5, 12.5], "R-4s") == [[0, 1]]
    assert fired([12.5, 10, 7.5], "R-4s") == []
    assert fired([12.5, 8.0], "R-4s") == []               # −2 SD exactly is not beyond


def test_4_1s():
    assert fired([11.5, 11.5, 11.5, 10.5], "4-1s") == []
    assert fired([11.5, 11.5, 11.5, 11.5], "4-1s") == [[0, 1, 2, 3]]
    assert fired([8.5, 8.5, 8.5, 11.5, 8.5], "4-1s") == []


def test_10x():
    nine = [10.2] * 9
    assert fired(nine + [9.8], "10x") == []
    assert fired(nine + [10.1], "10x") == [list(range(10))]
    assert fired([9.9] * 5 + [10.0] + [9.9] * 5, "10x") == []  # on the mean breaks the run
    assert fired([9.9] * 12, "10x") == [list(range(12))]


def test_violations_name_points_with_labels_and_last_point_status():
    labels = ["05-01", "05-02", "05-03"]
    vs = westgard([10, 12.5, 12.6], B, labels=labels)
    msgs = [v.message for v in vs]
    assert "2-2s (reject): 05-02, 05-03" in msgs
    assert status_of_last(vs, 3) == "reject"
    assert status_of_last(westgard([10, 10, 12.5], B), 3) == "warning"
    assert status_of_last(westgard([12.5, 12.5, 10], B), 3) == "ok"


def test_baseline_mean_sd_and_minimum_count():
    vals = [9, 11] * 5
    b = baseline(vals)
    assert b.mean == 10 and b.sd == pytest.approx((10 / 9) ** 0.5) and b.n == 10
    with pytest.raises(ValueError, match="need at least 10"):
        baseline(vals[:9])
    with pytest.raises(ValueError, match="SD is zero"):
        baseline([1.0] * 10)


def test_levey_jennings_lines():
    lj = levey_jennings([10, 13], B)
    assert lj["lines"]["+3sd"] == 13 and lj["lines"]["-2sd"] == 8
    assert lj["points"][1]["z"] == 3


def test_control_minimum_and_channel_consistency():
    rules = load_qc()
    assert control_check(rules.min_control_delta).passed
    assert not control_check(0.299).passed
    assert channel_consistency({"1": 0.40, "2": 0.45}).passed
    c = channel_consistency({"1": 0.40, "2": 0.46, "3": 0.42})
    assert not c.passed and "channel 2 − channel 1" in c.message
