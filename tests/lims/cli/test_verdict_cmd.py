"""`lims verdict …` on the worked examples of domain.md, as text and as JSON."""

import json

import pytest


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):result.output.rindex("}") + 1])


def test_enzyme_worked_example(lims):
    result = lims("verdict", "enzyme", "--control-delta", "0.303", "--sample-delta", "0.131")
    assert result.exit_code == 0, result.output
    assert "POSITIVE" in result.output and "56.77" in result.output


def test_enzyme_json(lims):
    data = _json(lims("verdict", "enzyme", "--control-delta", "0.303", "--sample-delta", "0.131",
                      "--json"))
    assert data["outcome"] == "positive"
    assert data["value"] == pytest.approx((0.303 - 0.131) / 0.303 * 100, abs=0.01)
    assert data["unit"] == "%" and data["threshold"]["positive_at"] == 50.0
    assert data["reasons"]


def test_enzyme_control_too_weak_is_invalid(lims):
    data = _json(lims("verdict", "enzyme", "--control-delta", "0.2", "--sample-delta", "0.1",
                      "--json"))
    assert data["outcome"] == "invalid" and "minimum" in data["reasons"][0]


def test_gold_json(lims):
    data = _json(lims("verdict", "gold", "--t", "0.4", "--c", "1.0", "--kit", "KJ-GOLD-CBF",
                      "--json"))
    assert data["outcome"] == "positive" and data["value"] == pytest.approx(0.4)
    no_c = _json(lims("verdict", "gold", "--t", "0.4", "--c", "0", "--kit", "KJ-GOLD-CBF",
                      "--json"))
    assert no_c["outcome"] == "invalid"


def test_card(lims):
    result = lims("verdict", "card", "--colour", "sky_blue")
    assert result.exit_code == 0 and "NEGATIVE" in result.output


def test_mrl_chinese_and_english_names(lims):
    zh = _json(lims("verdict", "mrl", "--analyte", "毒死蜱", "--commodity", "芹菜",
                    "--value", "0.08", "--on", "2026-05-01", "--json"))
    en = _json(lims("verdict", "mrl", "--analyte", "chlorpyrifos", "--commodity", "celery",
                    "--value", "0.08", "--on", "2026-05-01", "--json"))
    assert zh["outcome"] == en["outcome"] == "noncompliant"
    assert zh["threshold"]["standard"] == "GB 2763-2021" and zh["threshold"]["value"] == 0.05


def test_mrl_edition_matters(lims):
    old = _json(lims("verdict", "mrl", "--analyte", "腐霉利", "--commodity", "韭菜", "--value", "1",
                     "--standard", "GB 2763-2021", "--json"))
    new = _json(lims("verdict", "mrl", "--analyte", "腐霉利", "--commodity", "韭菜", "--value", "1",
                     "--standard", "GB 2763.1-2022", "--json"))
    assert (old["outcome"], new["outcome"]) == ("noncompliant", "compliant")


def test_unknown_kit_is_a_clear_error(lims):
    result = lims("verdict", "gold", "--t", "1", "--c", "1", "--kit", "NOPE")
    assert result.exit_code == 2
    assert "NOPE" in result.output


def test_enzyme_shows_the_dispatchers_warnings(lims):
    # the same dispatcher as stored results: a negative is "not detected", never "compliant"
    result = lims("verdict", "enzyme", "--control-delta", "0.4", "--sample-delta", "0.39")
    assert result.exit_code == 0, result.output
    assert "NEGATIVE" in result.output
    assert "! negative means not detected by this method" in result.output
    leek = _json(lims("verdict", "enzyme", "--control-delta", "0.4", "--sample-delta", "0.1",
                      "--commodity", "韭菜", "--json"))
    assert leek["outcome"] == "positive"
    assert any("Chinese chives (韭菜) inhibits the enzyme on its own" in w
               for w in leek["warnings"])


def test_enzyme_exactly_at_the_cut_off(lims):
    data = _json(lims("verdict", "enzyme", "--control-delta", "0.565", "--sample-delta", "0.339",
                      "--json"))
    assert data["outcome"] == "suspicious" and data["value"] == 40.0  # float said 39.99…: negative


def test_a_method_of_another_kind_is_a_clear_error(lims):
    result = lims("verdict", "enzyme", "--control-delta", "0.4", "--sample-delta", "0.1",
                  "--method", "KJ-GOLD-CBF")
    assert result.exit_code == 2
    assert "KJ-GOLD-CBF is a colloidal_gold method" in result.output


def test_card_with_a_failed_blank_is_invalid(lims):
    # issue 16: `lims verdict card` could not say that the blank card failed
    failed = _json(lims("verdict", "card", "--colour", "sky_blue", "--blank-failed", "--json"))
    assert failed["outcome"] == "invalid" and failed["rule"] == "card.blank"
    assert "blank card did not turn blue" in failed["reasons"][0]
    also = _json(lims("verdict", "card", "--colour", "unchanged", "--blank-ok", "false", "--json"))
    assert also["outcome"] == "invalid"
    ok = _json(lims("verdict", "card", "--colour", "unchanged", "--blank-ok", "yes", "--json"))
    assert ok["outcome"] == "positive"
    both = lims("verdict", "card", "--colour", "unchanged", "--blank-ok", "true", "--blank-failed")
    assert both.exit_code == 2 and "--blank-failed" in both.output
    bad = lims("verdict", "card", "--colour", "unchanged", "--blank-ok", "maybe")
    assert bad.exit_code == 2 and "maybe" in bad.output


def test_verdict_day_is_the_configured_local_day(lims, monkeypatch):
    # issue 16: the edition in force was picked with date.today() (the machine's zone, not the
    # clock) instead of the configured local day. 2023-05-10 16:30 UTC is already 2023-05-11 in
    # Shanghai, the day GB 2763.1-2022 (procymidone in Chinese chives: 5 mg/kg) takes effect.
    monkeypatch.setenv("LIMS_CLOCK", "2023-05-10T16:30:00+00:00")
    monkeypatch.setenv("LIMS_TIMEZONE", "Asia/Shanghai")
    data = _json(lims("verdict", "mrl", "--analyte", "腐霉利", "--commodity", "韭菜",
                      "--value", "1", "--json"))
    assert data["threshold"]["standard"] == "GB 2763.1-2022" and data["outcome"] == "compliant"
    monkeypatch.setenv("LIMS_TIMEZONE", "UTC")  # still 2023-05-10 there: the 2021 edition
    data = _json(lims("verdict", "mrl", "--analyte", "腐霉利", "--commodity", "韭菜",
                      "--value", "1", "--json"))
    assert data["threshold"]["standard"] == "GB 2763-2021" and data["outcome"] == "noncompliant"


def test_mrl_group_row_unconfirmed_and_banned_are_shown(lims):
    # issue 16: 氧乐果 in 菠菜 falls back to the 叶菜类蔬菜 row (unconfirmed); omethoate is banned
    result = lims("verdict", "mrl", "--analyte", "氧乐果", "--commodity", "菠菜", "--value", "0.03",
                  "--on", "2026-05-01")
    assert result.exit_code == 0, result.output
    assert "NONCOMPLIANT" in result.output
    assert "> MRL 0.02 mg/kg (GB 2763-2021) (limit unconfirmed: check the standard)" in result.output
    assert "limit for 叶菜类蔬菜 (group) used for 菠菜 (spinach)" in result.output
    assert "omethoate is banned on vegetables" in result.output
