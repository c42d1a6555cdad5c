"""The method-kind registry and its dispatcher: exact cut-offs, unknown kinds, the warnings the
enzyme kind adds, and the data file every kind comes from."""

import pytest

from lims.models.enums import MethodKind
from lims.reference.editor import validate_method_params
from lims.verdicts import (
    AnalyteInfo,
    CommodityInfo,
    Limit,
    Outcome,
    UnknownMethodKind,
    inhibition_percent,
    judge_enzyme,
    judge_gold,
    judge_mrl,
    judge_reading,
    kind_spec,
    kinds,
    raw_keys,
)
from lims.verdicts.registry import KINDS_FILE, read_kinds_file

ENZ = {"positive_at": 50.0, "suspicious_from": 40.0, "min_control_delta": 0.3}
GOLD = {"cutoff": 0.6, "direction": "competitive", "min_c": 0.1}
LEEK = CommodityInfo(name_zh="韭菜", name_en="leek", enzyme_interference=True)
CELERY = CommodityInfo(name_zh="芹菜", name_en="celery")


# --------------------------------------------------------------------------- exact cut-offs

def test_exactly_forty_percent_is_positive_at_forty():
    # (0.565 − 0.339) / 0.565 = 0.4 exactly; binary floating point makes it 39.99999… %
    assert (0.565 - 0.339) / 0.565 * 100 < 40
    v = judge_enzyme(0.565, 0.339, {"positive_at": 40, "min_control_delta": 0.3})
    assert v.outcome is Outcome.POSITIVE and v.value == 40.0
    assert v.reasons == ("inhibition 40.00 % ≥ 40 %",)
    assert inhibition_percent(0.565, 0.339) == 40.0
    via = judge_reading("enzyme_inhibition", {"control_delta": "0.565", "sample_delta": "0.339"},
                        {"positive_at": 40, "min_control_delta": 0.3}, method_code="ENZ")
    assert via.outcome is Outcome.POSITIVE


def test_exactly_at_the_suspicious_band_is_suspicious():
    assert judge_enzyme(0.565, 0.339, ENZ).outcome is Outcome.SUSPICIOUS
    assert judge_enzyme(0.346, 0.2076, ENZ).outcome is Outcome.SUSPICIOUS  # 40 % exactly too


def test_a_reason_shows_why_a_rounded_value_at_the_cut_off_is_below_it():
    v = judge_enzyme(0.4, 0.20001, ENZ)   # 49.9975 %: shown as 50.00 %, still below 50 %
    assert v.outcome is Outcome.SUSPICIOUS and v.value == 50.0
    assert "50.00 % (unrounded 49.9975 %)" in v.reasons[0]


def test_gold_ratio_exactly_at_the_cut_off():
    # 0.816 / 1.36 = 0.6 exactly (float: 0.59999…): as dark as the cut-off → negative
    assert 0.816 / 1.36 < 0.6
    v = judge_gold(0.816, 1.36, GOLD)
    assert v.outcome is Outcome.NEGATIVE and v.value == 0.6
    assert "= 0.6000 ≥ cut-off 0.6" in v.reasons[0]
    sandwich = judge_gold(0.816, 1.36, {**GOLD, "direction": "sandwich"})
    assert sandwich.outcome is Outcome.POSITIVE
    assert judge_gold(0.8159, 1.36, GOLD).outcome is Outcome.POSITIVE


def test_gold_zero_control_line_is_invalid_even_without_a_minimum():
    v = judge_gold(0.5, 0.0, {**GOLD, "min_c": 0})
    assert v.outcome is Outcome.INVALID and v.rule == "gold.no_control_line"


def test_mrl_exactly_equal_after_unit_conversion_is_compliant():
    lim = Limit(0.051, "mg/kg", "GB 2763", "2021")
    assert 51 * 1e-3 > 0.051   # what float made of it
    v = judge_mrl(51, "μg/kg", lim, analyte="chlorpyrifos", commodity="celery")
    assert v.outcome is Outcome.COMPLIANT and v.value == 0.051
    assert "0.051 mg/kg ≤ MRL 0.051 mg/kg (GB 2763-2021)" in v.reasons[0]
    assert judge_mrl(52, "ug/kg", lim).outcome is Outcome.NONCOMPLIANT
    in_ug = Limit(13, "μg/kg", "GB 2763", "2021")
    assert judge_mrl(0.013, "mg/kg", in_ug).outcome is Outcome.COMPLIANT


# --------------------------------------------------------------------------- the registry

def test_the_shipped_kinds_come_from_the_data_file():
    assert read_kinds_file(KINDS_FILE) == {
        "enzyme_inhibition": "lims.verdicts.enzyme", "test_card": "lims.verdicts.card",
        "colloidal_gold": "lims.verdicts.gold", "lab_quantitative": "lims.verdicts.mrl"}
    assert set(MethodKind) <= set(kinds())
    for kind in kinds():
        spec = kind_spec(kind)
        assert spec.name == kind and spec.raw_keys and spec.label_zh and spec.label_en
    assert raw_keys("enzyme_inhibition") == ("control_delta", "sample_delta")
    assert raw_keys(MethodKind.COLLOIDAL_GOLD) == ("t", "c")


def test_unknown_kind_names_it_and_the_known_ones():
    with pytest.raises(UnknownMethodKind, match=r"unknown method kind 'ph_meter'.*enzyme_inhibition"):
        judge_reading("ph_meter", {}, {}, method_code="X")
    with pytest.raises(UnknownMethodKind, match="ph_meter"):
        raw_keys("ph_meter")
    errors = validate_method_params("ph_meter", {}, "X-1")
    assert len(errors) == 1 and "ph_meter" in str(errors[0]) and "test_card" in str(errors[0])


def test_enzyme_kind_adds_matrix_and_blind_spot_warnings():
    raw = {"control_delta": 0.4, "sample_delta": 0.1}    # 75 %: positive
    v = judge_reading("enzyme_inhibition", raw, ENZ, method_code="ENZ", commodity=LEEK)
    assert v.outcome is Outcome.POSITIVE
    assert any("leek (韭菜) inhibits the enzyme on its own" in w for w in v.warnings)
    neg = judge_reading("enzyme_inhibition", {"control_delta": 0.4, "sample_delta": 0.39}, ENZ,
                        method_code="ENZ", commodity=CELERY)
    assert neg.outcome is Outcome.NEGATIVE
    assert [w for w in neg.warnings if "not detected by this method" in w]
    assert not [w for w in neg.warnings if "inhibits the enzyme" in w]
    blind = judge_reading("enzyme_inhibition", {"control_delta": 0.4, "sample_delta": 0.39}, ENZ,
                          method_code="ENZ", commodity=CELERY,
                          analyte=AnalyteInfo(name_zh="毒死蜱", name_en="chlorpyrifos",
                                              enzyme_blind_spot=True))
    assert any("cannot see chlorpyrifos (毒死蜱)" in w for w in blind.warnings)


def test_mrl_kind_uses_the_limit_lookup_with_the_callers_rows():
    calls = []

    def limit_for(analyte, commodity, on, standard):
        calls.append((analyte, commodity, on, standard))
        return Limit(0.05, "mg/kg", "GB 2763", "2021", threshold_id=7)

    chlorpyrifos = AnalyteInfo(name_zh="毒死蜱", name_en="chlorpyrifos")
    v = judge_reading("lab_quantitative", {"value": "0.08"}, {}, method_code="LAB",
                      commodity=CELERY, analyte=chlorpyrifos, limit_for=limit_for,
                      standard="GB 2763-2021")
    assert v.outcome is Outcome.NONCOMPLIANT and v.threshold["threshold_id"] == 7
    assert calls == [(chlorpyrifos, CELERY, None, "GB 2763-2021")]
    no_analyte = judge_reading("lab_quantitative", {"value": 0.08}, {}, method_code="LAB",
                               commodity=CELERY, limit_for=limit_for)
    assert no_analyte.outcome is Outcome.INVALID and "(no analyte)" in no_analyte.reasons[0]


def test_card_kind_reads_blank_ok_words():
    v = judge_reading("test_card", {"colour": "sky_blue", "blank_ok": "否"}, {}, method_code="C")
    assert v.outcome is Outcome.INVALID and v.rule == "card.blank"
    assert judge_reading("test_card", {"colour": "faint_blue"}, {},
                         method_code="C").outcome is Outcome.POSITIVE
