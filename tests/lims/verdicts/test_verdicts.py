"""The verdict engine against domain.md's worked examples and the edges of each rule."""

import math

import pytest

from lims.verdicts import (
    Limit,
    Outcome,
    ParameterError,
    inhibition_percent,
    judge_card,
    judge_enzyme,
    judge_gold,
    judge_mrl,
    parse_outcome,
    same_meaning,
)

ENZ = {"positive_at": 50.0, "suspicious_from": 40.0, "min_control_delta": 0.3}
GOLD = {"cutoff": 1.0, "direction": "competitive", "min_c": 0.1}


def test_worked_example_from_domain_md():
    # ΔA0 = 0.303, ΔAt = 0.131 → 56.77 %
    assert inhibition_percent(0.303, 0.131) == pytest.approx(56.765, abs=1e-3)
    v = judge_enzyme(0.303, 0.131, ENZ)
    assert v.outcome is Outcome.POSITIVE
    assert v.value == 56.77
    assert "56.77 %" in v.reasons[0]


def test_exactly_fifty_percent_is_positive():
    v = judge_enzyme(0.4, 0.2, ENZ)
    assert v.value == 50.0
    assert v.outcome is Outcome.POSITIVE


def test_just_below_fifty_is_suspicious_and_below_band_negative():
    assert judge_enzyme(0.4, 0.2004, ENZ).outcome is Outcome.SUSPICIOUS  # 49.9 %
    assert judge_enzyme(0.4, 0.24, ENZ).outcome is Outcome.SUSPICIOUS    # 40 % exactly
    assert judge_enzyme(0.4, 0.2404, ENZ).outcome is Outcome.NEGATIVE    # 39.9 %


def test_without_suspicious_band_below_fifty_is_negative():
    params = {"positive_at": 50.0, "min_control_delta": 0.3}
    assert judge_enzyme(0.4, 0.2004, params).outcome is Outcome.NEGATIVE


def test_control_at_its_minimum_is_valid_and_below_is_invalid():
    assert judge_enzyme(0.3, 0.29, ENZ).outcome is Outcome.NEGATIVE
    v = judge_enzyme(0.299, 0.1, ENZ)
    assert v.outcome is Outcome.INVALID
    assert v.rule == "enzyme.control_activity"
    assert "0.299" in v.reasons[0] and "0.300" in v.reasons[0]


def test_negative_sample_delta_is_positive_with_a_warning():
    v = judge_enzyme(0.35, -0.02, ENZ)
    assert v.outcome is Outcome.POSITIVE
    assert v.value > 100
    assert any("negative" in w for w in v.warnings)


def test_impossible_values_are_invalid():
    assert judge_enzyme(float("nan"), 0.1, ENZ).outcome is Outcome.INVALID
    assert judge_enzyme(None, 0.1, ENZ).outcome is Outcome.INVALID
    assert judge_enzyme(0.35, 9.0, ENZ).rule == "enzyme.impossible"
    # sample far more active than the control: -100 %
    assert judge_enzyme(0.35, 0.70, ENZ).outcome is Outcome.INVALID


def test_parameters_are_required_and_checked():
    with pytest.raises(ParameterError, match="positive_at"):
        judge_enzyme(0.35, 0.1, {"min_control_delta": 0.3})
    with pytest.raises(ParameterError, match="suspicious_from"):
        judge_enzyme(0.35, 0.1, {**ENZ, "suspicious_from": 60})


def test_card_colours():
    assert judge_card("unchanged").outcome is Outcome.POSITIVE
    assert judge_card("faint_blue").outcome is Outcome.POSITIVE
    assert judge_card("sky_blue").outcome is Outcome.NEGATIVE
    assert judge_card("purple").outcome is Outcome.INVALID
    assert judge_card("sky_blue", blank_ok=False).outcome is Outcome.INVALID


def test_gold_competitive_kit():
    assert judge_gold(0.5, 1.0, GOLD).outcome is Outcome.POSITIVE      # T fainter than C
    assert judge_gold(1.0, 1.0, GOLD).outcome is Outcome.NEGATIVE      # T as dark as C
    assert judge_gold(1.3, 1.0, GOLD).outcome is Outcome.NEGATIVE
    v = judge_gold(0.999, 1.0, GOLD)
    assert v.outcome is Outcome.POSITIVE and v.value == 0.999


def test_gold_missing_control_line_is_invalid():
    v = judge_gold(0.8, 0.0, GOLD)
    assert v.outcome is Outcome.INVALID and v.rule == "gold.no_control_line"
    assert judge_gold(0.8, 0.1, GOLD).outcome is Outcome.NEGATIVE  # C exactly at its minimum
    assert judge_gold(0.8, None, GOLD).outcome is Outcome.INVALID


def test_gold_sandwich_direction():
    p = {**GOLD, "direction": "sandwich", "cutoff": 0.2}
    assert judge_gold(0.2, 1.0, p).outcome is Outcome.POSITIVE
    assert judge_gold(0.19, 1.0, p).outcome is Outcome.NEGATIVE
    with pytest.raises(ParameterError):
        judge_gold(0.2, 1.0, {**GOLD, "direction": "sideways"})


def test_mrl_edges_and_units():
    lim = Limit(0.05, "mg/kg", "GB 2763", "2021")
    assert judge_mrl(0.05, "mg/kg", lim).outcome is Outcome.COMPLIANT   # at the MRL
    v = judge_mrl(0.051, "mg/kg", lim, analyte="chlorpyrifos", commodity="celery")
    assert v.outcome is Outcome.NONCOMPLIANT
    assert "GB 2763-2021" in v.reasons[0]
    assert judge_mrl(60, "μg/kg", lim).outcome is Outcome.NONCOMPLIANT
    assert judge_mrl(50, "ug/kg", lim).outcome is Outcome.COMPLIANT
    assert judge_mrl(0.01, "mg/kg", None).outcome is Outcome.INVALID
    assert judge_mrl(-1, "mg/kg", lim).outcome is Outcome.INVALID
    with pytest.raises(ValueError, match="unit"):
        judge_mrl(1, "g/t", lim)


def test_outcome_words_and_agreement():
    assert parse_outcome("阳性") is Outcome.POSITIVE
    assert parse_outcome(" 不合格 ") is Outcome.NONCOMPLIANT
    with pytest.raises(ValueError, match="maybe"):
        parse_outcome("maybe")
    assert same_meaning(Outcome.NEGATIVE, Outcome.COMPLIANT)
    assert same_meaning(Outcome.POSITIVE, Outcome.NONCOMPLIANT)
    assert not same_meaning(Outcome.POSITIVE, Outcome.NEGATIVE)
    assert not same_meaning(Outcome.SUSPICIOUS, Outcome.POSITIVE)
    assert Outcome.INVALID.passes is None and math.isnan(float("nan"))
