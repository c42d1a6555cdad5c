"""The workflow reference files load with their sources; a bad edit names the file and field."""

import pytest

from lims.enforcement.rules import (
    ENFORCEMENT_FILE,
    GRADES_FILE,
    load_enforcement_rules,
    load_grade_rules,
)


def test_shipped_files_load_with_sources():
    e = load_enforcement_rules()
    assert e.objection_hours == 4.0 and "art. 88" in e.objection_source
    assert e.alert_target_minutes == 10.0 and e.alert_target_source
    assert "destroyed" in e.disposals and e.disposals["destroyed"]["zh"] == "监督销毁"
    g = load_grade_rules()
    assert g.source and g.edition and {r.grade for r in g.rules} == {"B", "C", "D"}
    assert g.per_month["D"] > g.per_month["A"]


def test_bad_edits_are_named(tmp_path):
    bad = tmp_path / "enforcement.toml"
    bad.write_text(ENFORCEMENT_FILE.read_text(encoding="utf-8").replace(
        "hours = 4.0", "hours = -4"), encoding="utf-8")
    with pytest.raises(ValueError, match="enforcement.toml: objection_window.hours must be a "
                                         "positive number"):
        load_enforcement_rules(bad)
    g = tmp_path / "credit_grades.toml"
    g.write_text(GRADES_FILE.read_text(encoding="utf-8").replace(
        'metric = "refused_tests"', 'metric = "refusals"', 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"credit_grades.toml rule #2 condition 1: unknown "
                                         r"metric 'refusals'"):
        load_grade_rules(g)
    g.write_text("[meta\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_grade_rules(g)
    with pytest.raises(ValueError, match="missing"):
        load_grade_rules(tmp_path / "nope.toml")
