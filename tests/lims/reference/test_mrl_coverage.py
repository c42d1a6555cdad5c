"""Issue 16: every shipped MRL row is answered by the judge; groups, unconfirmed limits and bans
say so in the reasons; the reference files agree with each other."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from lims.errors import ConfigError
from lims.models import Threshold
from lims.models.enums import MethodKind
from lims.reference.loader import REFDATA, load_reference_data
from lims.reference.lookup import RefCache, read_banned, read_commodity_groups
from lims.verdicts import judge_reading

UNCONFIRMED = "(limit unconfirmed: check the standard)"


def _csv(name: str) -> list[dict[str, str]]:
    with (REFDATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


THRESHOLDS = _csv("thresholds.csv")
GROUPS = _csv("commodity_groups.csv")


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


def _commodities_of(row: dict[str, str]) -> list[tuple[str, str]]:
    """(commodity, scope) pairs a threshold row applies to."""
    if row["commodity"]:
        return [(row["commodity"], "commodity")]
    cat = _norm(row["commodity_category"])
    out = [(g["name_zh"], "group") for g in GROUPS if cat in (_norm(g["group_zh"]),
                                                              _norm(g["group_en"]))]
    out += [(g["name_zh"], "category") for g in GROUPS
            if cat in (_norm(g["category_zh"]), _norm(g["category_en"]))]
    return out


def _expected_row(row: dict[str, str], commodity: str) -> dict[str, str]:
    """The row the lookup must use: the commodity's own row of the same edition, if any."""
    own = [r for r in THRESHOLDS if r["analyte"] == row["analyte"] and r["commodity"] == commodity
           and (r["standard"], r["edition"]) == (row["standard"], row["edition"])]
    return own[0] if own else row


def _judge(cache, analyte, commodity, value, *, on=None, standard=None):
    return judge_reading(MethodKind.LAB_QUANTITATIVE, {"value": value, "unit": "mg/kg"}, {},
                         method_code="mrl", commodity=cache.commodity(commodity),
                         analyte=cache.analyte(analyte), on=on, limit_for=cache.limit,
                         standard=standard)


def test_every_group_row_reaches_a_commodity():
    for row in THRESHOLDS:
        assert _commodities_of(row), f"no commodity for {row['analyte']}/{row['commodity_category']}"


def test_every_shipped_threshold_row_is_answered(session):
    """Loop over thresholds.csv: below and above each limit, through the registry dispatcher with
    the lookup, for every commodity the row applies to."""
    cache = RefCache.load(session)
    banned = {b.analyte for b in read_banned().values() if b.banned_on_vegetables}
    groups = read_commodity_groups()
    checked = 0
    for row in THRESHOLDS:
        edition = f"{row['standard']}-{row['edition']}"
        for commodity, scope in _commodities_of(row):
            want = _expected_row(row, commodity)
            value = Decimal(want["value"])
            for on, standard in ((None, edition),
                                 (date.fromisoformat(want["effective_from"]), None)):
                low = _judge(cache, row["analyte"], commodity, float(value / 2), on=on,
                             standard=standard)
                high = _judge(cache, row["analyte"], commodity, float(value * 2), on=on,
                              standard=standard)
                what = f"{row['analyte']} in {commodity} ({edition}, on={on})"
                assert (low.outcome, high.outcome) == ("compliant", "noncompliant"), what
                for v in (low, high):
                    assert v.threshold["value"] == float(value), what
                    assert v.threshold["standard"] == f"{want['standard']}-{want['edition']}"
                    confirmed = want["confirmed"] == "true"
                    assert v.threshold["confirmed"] is confirmed, what
                    assert (UNCONFIRMED in v.reasons[0]) is (not confirmed), (what, v.reasons)
                    if want is row and scope != "commodity":
                        name = row["commodity_category"]
                        g = next(x for x in GROUPS if x["name_zh"] == commodity)
                        shown = g["group_zh"] if scope == "group" else g["category_zh"]
                        assert f"limit for {shown} ({scope}) used for {commodity}" in \
                            " | ".join(v.reasons), (what, name, v.reasons)
                    vegetable = groups[commodity].category_zh == "蔬菜"
                    says_banned = any("banned on vegetables" in r for r in v.reasons)
                    assert says_banned is (row["analyte"] in banned and vegetable), what
                checked += 1
    assert checked >= 2 * len(THRESHOLDS)


def test_unconfirmed_limit_says_so(session):
    cache = RefCache.load(session)
    v = _judge(cache, "噻虫嗪", "葱", 0.5, standard="GB 2763-2021")
    assert v.outcome == "noncompliant"
    assert v.reasons[0].endswith("> MRL 0.3 mg/kg (GB 2763-2021) " + UNCONFIRMED), v.reasons
    ok = _judge(cache, "噻虫嗪", "姜", 0.5, standard="GB 2763-2021")
    assert ok.threshold["confirmed"] is True and UNCONFIRMED not in ok.reasons[0]


def test_group_fallback_names_the_row_used(session):
    cache = RefCache.load(session)
    # 菠菜, 芹菜 and 大白菜 are leafy vegetables (GB 2763 Annex A): the 叶菜类蔬菜 row applies
    for commodity, en in (("菠菜", "spinach"), ("芹菜", "celery"), ("大白菜", "Chinese cabbage")):
        v = _judge(cache, "omethoate", commodity, 0.03, on=date(2026, 5, 1))
        assert v.outcome == "noncompliant" and v.threshold["scope"] == "group"
        assert f"limit for 叶菜类蔬菜 (group) used for {commodity} ({en})" in v.reasons, v.reasons
    legume = _judge(cache, "isofenphos-methyl", "菜豆", 0.005, on=date(2026, 5, 1))
    assert legume.outcome == "compliant"
    assert "limit for 豆类蔬菜 (group) used for 菜豆 (kidney bean)" in legume.reasons
    # 姜 has no row for omethoate, neither its own, its group's nor its category's
    assert _judge(cache, "omethoate", "姜", 0.03).outcome == "invalid"


def test_commodity_row_wins_then_group_then_category(session):
    cache = RefCache.load(session)
    a, spinach = cache.analyte("氧乐果"), cache.commodity("菠菜")
    session.add(Threshold(analyte_id=a.id, commodity_id=None, commodity_category="蔬菜",
                          standard="GB 2763", edition="2021", value=0.05,
                          effective_from=date(2021, 9, 3), confirmed=False, source="test"))
    session.flush()
    cache = RefCache.load(session)
    ginger = _judge(cache, "氧乐果", "姜", 0.03, on=date(2026, 5, 1))
    assert ginger.outcome == "compliant" and ginger.threshold["scope"] == "category"
    assert "limit for 蔬菜 (category) used for 姜 (ginger)" in ginger.reasons
    assert _judge(cache, "氧乐果", "菠菜", 0.03).threshold["scope"] == "group"
    session.add(Threshold(analyte_id=a.id, commodity_id=spinach.id, standard="GB 2763",
                          edition="2021", value=0.04, effective_from=date(2021, 9, 3),
                          confirmed=True, source="test"))
    session.flush()
    cache = RefCache.load(session)
    own = _judge(cache, "氧乐果", "菠菜", 0.03)
    assert own.outcome == "compliant" and own.threshold["scope"] == "commodity"
    assert not any("used for" in r for r in own.reasons)
    session.rollback()


def test_banned_pesticides_keep_their_limit_and_say_so(session):
    cache = RefCache.load(session)
    v = _judge(cache, "氧乐果", "韭菜", 0.01, standard="GB 2763-2021")
    assert v.outcome == "compliant"  # the limit decides the verdict
    assert any("omethoate is banned on vegetables" in r for r in v.reasons), v.reasons
    assert v.threshold["banned_on_vegetables"] is True
    fruit = _judge(cache, "乙酰甲胺磷", "芒果", 0.01, standard="GB 2763-2021")
    assert not any("banned" in r for r in fruit.reasons)  # a vegetable ban; mango is fruit
    allowed = _judge(cache, "噻虫胺", "豇豆", 0.02, standard="GB 2763-2021")
    assert not any("banned" in r for r in allowed.reasons)


def test_a_new_edition_replaces_the_old_one_for_the_same_commodity(session):
    # 甲拌磷 in 韭菜: GB 2763-2019 has a 韭菜 row, GB 2763-2021 a 鳞茎类蔬菜 row; from
    # 2021-09-03 the 2021 group row applies, not the superseded 2019 commodity row
    cache = RefCache.load(session)
    old = _judge(cache, "甲拌磷", "韭菜", 0.02, on=date(2021, 1, 1))
    assert old.threshold["standard"] == "GB 2763-2019" and old.threshold["scope"] == "commodity"
    new = _judge(cache, "甲拌磷", "韭菜", 0.02, on=date(2026, 5, 1))
    assert new.threshold["standard"] == "GB 2763-2021" and new.threshold["scope"] == "group"
    assert "limit for 鳞茎类蔬菜 (group) used for 韭菜 (Chinese chives)" in new.reasons
    assert new.outcome == "noncompliant"
    # a supplement with its own number stays beside the base standard (腐霉利: GB 2763.1-2022)
    assert _judge(cache, "腐霉利", "韭菜", 1, on=date(2026, 5, 1)).threshold["standard"] == \
        "GB 2763.1-2022"


def test_screened_pesticides_cover_the_screened_vegetables(session):
    """Issue 16: carbofuran in cowpea and the other enzyme-kit pesticides on the leafy, bulb,
    legume and fruiting vegetables have a limit (shipped unconfirmed where no source was seen)."""
    cache = RefCache.load(session)
    v = _judge(cache, "克百威", "豇豆", 0.03, on=date(2026, 5, 1))
    assert v.outcome == "noncompliant" and v.threshold["value"] == 0.02
    assert "carbofuran is banned on vegetables (农业部公告第199号)" in v.reasons
    assert UNCONFIRMED in v.reasons[0]
    for analyte in ("敌敌畏", "乐果", "氧乐果", "甲胺磷", "对硫磷", "甲拌磷", "久效磷", "水胺硫磷",
                    "倍硫磷", "克百威", "涕灭威", "灭多威", "辛硫磷", "氟虫腈", "阿维菌素"):
        for commodity in ("豇豆", "芹菜", "韭菜", "菠菜", "小白菜", "大白菜", "黄瓜", "番茄",
                          "辣椒", "茄子"):
            got = _judge(cache, analyte, commodity, 0.001, on=date(2026, 5, 1))
            assert got.outcome == "compliant", (analyte, commodity, got.reasons)


def test_reference_files_agree():
    commodities = {r["name_zh"]: r for r in _csv("commodities.csv")}
    analytes = {r["name_zh"] for r in _csv("analytes.csv")}
    groups = {g["name_zh"]: g for g in GROUPS}
    assert set(groups) == set(commodities)
    for name, g in groups.items():
        assert commodities[name]["category"] == g["group_en"], name
        assert commodities[name]["name_en"] == g["name_en"], name
        assert g["source"]
    assert groups["芹菜"]["group_zh"] == groups["大白菜"]["group_zh"] == "叶菜类蔬菜"
    assert commodities["韭菜"]["name_en"] == "Chinese chives"
    assert {b["analyte"] for b in _csv("banned.csv")} <= analytes
    assert all(b["source"] for b in _csv("banned.csv"))
    assert {"水胺硫磷", "倍硫磷", "乐果", "敌敌畏", "克百威"} <= analytes
    for row in THRESHOLDS:
        assert row["source"] and row["confirmed"] in ("true", "false")
        assert row["confirmed"] == "true" or "UNCONFIRMED" in row["source"], row


@pytest.mark.parametrize(("file", "edit", "message"), [
    ("thresholds.csv", ("legume vegetables", "legumes"), "commodity_category 'legumes'"),
    ("banned.csv", ("敌敌畏,false", "敌乐死,false"), "banned.csv: unknown analyte '敌乐死'"),
    ("commodity_groups.csv", ("柑橘,citrus", "金橘,kumquat"), "unknown commodity '金橘'"),
])
def test_loader_checks_the_side_files(sqlite_engine, tmp_path, file, edit, message):
    for f in REFDATA.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    text = (tmp_path / file).read_text(encoding="utf-8")
    assert edit[0] in text
    (tmp_path / file).write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with Session(sqlite_engine) as s, pytest.raises(ConfigError, match=message):
        load_reference_data(session=s, directory=tmp_path)
