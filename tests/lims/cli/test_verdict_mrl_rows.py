"""Issue 16: `lims verdict mrl` answers every pesticide × commodity row of the shipped
thresholds.csv, with the row's value, and an unconfirmed row says so in its first reason."""

from __future__ import annotations

import csv
import json
from decimal import Decimal

from lims.reference.loader import REFDATA

UNCONFIRMED = "(limit unconfirmed: check the standard)"


def _csv(name: str) -> list[dict[str, str]]:
    with (REFDATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


def _cases() -> list[tuple[dict[str, str], str]]:
    """(row, a commodity it answers for): the row's own commodity, else one commodity of its
    group/category that has no own row of that analyte and edition (that row would win)."""
    rows, groups = _csv("thresholds.csv"), _csv("commodity_groups.csv")
    out = []
    for row in rows:
        if row["commodity"]:
            out.append((row, row["commodity"]))
            continue
        cat = _norm(row["commodity_category"])
        own = {r["commodity"] for r in rows if r["analyte"] == row["analyte"] and r["commodity"]
               and (r["standard"], r["edition"]) == (row["standard"], row["edition"])}
        members = [g["name_zh"] for g in groups
                   if cat in {_norm(g[k]) for k in ("group_zh", "group_en", "category_zh",
                                                     "category_en")}
                   and g["name_zh"] not in own]
        assert members, f"row {row['analyte']}/{row['commodity_category']} reaches no commodity"
        out.append((row, members[0]))
    return out


def test_the_cli_answers_every_shipped_row(lims):
    banned = {b["analyte"] for b in _csv("banned.csv") if b["banned_on_vegetables"] == "true"}
    vegetables = {g["name_zh"] for g in _csv("commodity_groups.csv") if g["category_zh"] == "蔬菜"}
    cases = _cases()
    assert len(cases) == len(_csv("thresholds.csv")) >= 100
    for row, commodity in cases:
        edition = f"{row['standard']}-{row['edition']}"
        limit = Decimal(row["value"])
        what = f"{row['analyte']} in {commodity} ({edition})"
        outcomes = []
        for value in (limit, limit * 2):
            result = lims("verdict", "mrl", "--analyte", row["analyte"], "--commodity", commodity,
                          "--value", str(value), "--standard", edition, "--json")
            assert result.exit_code == 0, (what, result.output)
            data = json.loads(result.output[result.output.index("{"):
                                            result.output.rindex("}") + 1])
            outcomes.append(data["outcome"])
            assert Decimal(str(data["threshold"]["value"])) == limit, what
            assert data["threshold"]["standard"] == edition, what
            confirmed = row["confirmed"] == "true"
            assert data["threshold"]["confirmed"] is confirmed, what
            assert (UNCONFIRMED in data["reasons"][0]) is (not confirmed), (what, data["reasons"])
            says_banned = any("banned on vegetables" in r for r in data["reasons"])
            assert says_banned is (row["analyte"] in banned and commodity in vegetables), what
            if not row["commodity"]:
                assert any(f"used for {commodity}" in r for r in data["reasons"]), what
        # at the limit is compliant, above it is not (GB 2763: "≤ MRL")
        assert outcomes == ["compliant", "noncompliant"], what
