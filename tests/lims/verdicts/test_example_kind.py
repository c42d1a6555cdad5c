"""A new method kind is one module plus one line: the pH strip of example_kind.py, registered
from a one-line kinds file (or the register_kind call that mirrors it) and judged through the
same dispatcher as the shipped kinds, the intake adapter and the reference editor included."""

from datetime import date

import pytest

from lims.intake import judging
from lims.models import Commodity, Method
from lims.reference.editor import validate_method_params
from lims.verdicts import Outcome, judge_reading, kinds, raw_keys, register_kind
from lims.verdicts.registry import UnknownMethodKind, register_kinds_file, unregister_kind

LINE = 'ph_strip = "tests.lims.verdicts.example_kind"\n'
PARAMS = {"low": 6.0, "high": 8.0}


@pytest.fixture
def ph_strip(tmp_path):
    """The example kind, registered from ONE data line; forgotten afterwards."""
    kinds_file = tmp_path / "method_kinds.toml"
    kinds_file.write_text(LINE, encoding="utf-8")
    assert register_kinds_file(kinds_file) == ("ph_strip",)
    yield "ph_strip"
    unregister_kind("ph_strip")


def test_example_kind_needs_one_module_and_one_line(ph_strip):
    assert "ph_strip" in kinds()
    assert raw_keys("ph_strip") == ("ph",)
    acid = judge_reading("ph_strip", {"ph": "5.2"}, PARAMS, method_code="PH-STRIP")
    assert acid.outcome is Outcome.POSITIVE and acid.rule == "ph_strip.positive"
    assert "outside [6, 8]" in acid.reasons[0]
    assert judge_reading("ph_strip", {"ph": 8.0}, PARAMS,
                         method_code="PH-STRIP").outcome is Outcome.NEGATIVE  # edge is inside
    assert judge_reading("ph_strip", {}, PARAMS, method_code="PH-STRIP").outcome is Outcome.INVALID


def test_example_kind_through_the_intake_adapter_and_the_editor(ph_strip):
    method = Method(code="PH-STRIP", name_zh="pH 试纸", name_en="pH strip", standard="-",
                    edition="-", kind="ph_strip", params=PARAMS)
    celery = Commodity(name_zh="芹菜", name_en="celery", category="stem vegetables")
    v = judging.judge(method, {"ph": 9.1}, commodity=celery, analyte=None, on=date(2026, 5, 6))
    assert v.outcome is Outcome.POSITIVE
    assert judging.raw_keys_of(method) == ("ph",) and judging.RAW_KEYS["ph_strip"] == ("ph",)
    assert validate_method_params("ph_strip", PARAMS, "PH-STRIP") == []


def test_register_kind_call_mirrors_the_data_line():
    try:
        spec = register_kind("ph_strip", "tests.lims.verdicts.example_kind")
        assert spec.label_en == "pH strip"
        assert judge_reading("ph_strip", {"ph": 7}, PARAMS,
                             method_code="PH").outcome is Outcome.NEGATIVE
    finally:
        unregister_kind("ph_strip")
    with pytest.raises(UnknownMethodKind, match="ph_strip"):
        judge_reading("ph_strip", {"ph": 7}, PARAMS, method_code="PH")


def test_a_bad_line_fails_when_registered():
    with pytest.raises(ValueError, match="cannot import"):
        register_kind("ph_strip", "tests.lims.verdicts.no_such_module")
    with pytest.raises(ValueError, match="declares kind 'ph_strip'"):
        register_kind("litmus", "tests.lims.verdicts.example_kind")
    assert "ph_strip" not in kinds() and "litmus" not in kinds()
