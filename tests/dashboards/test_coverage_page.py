"""The coverage page (issue 19): coverage against the plan and the weighted pass rates, in
both languages, on the small demo (two counties of two markets each)."""

from __future__ import annotations

import pytest

from dashboards.i18n import strings
from tests.dashboards.conftest import no_exception, run_page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_coverage_page(use_db, lang):
    use_db("demo")
    at = run_page("coverage", lang=lang)
    no_exception(at)
    s = {k: v[lang] for k, v in strings().items()}
    assert at.title[0].value == s["page.coverage"]
    assert s["weighted.explain"] in [c.value for c in at.caption]
    cover, weighted = (df.value for df in at.dataframe)
    # by county, by month: the two counties of the demo, each month of the filter period
    assert set(cover[s["breakdown.county"]]) == {"城关区", "河西县"}
    assert len(set(cover[s["coverage.when"]])) == 1          # one period at a time,
    assert s["coverage.running"] not in cover[s["coverage.when"]].iloc[0]   # a finished one
    seen = set()
    for i in range(len(at.selectbox(key="coverage_when").options)):   # each month of the period
        at.selectbox(key="coverage_when").select_index(i).run()
        no_exception(at)
        seen |= set(at.dataframe[0].value[s["coverage.markets"]])
    assert "2 / 2" in seen
    # this month's weighted rates: one row per market, raw and weighted side by side
    assert len(weighted) == 4
    assert weighted[s["weighted.rate"]].str.endswith("%").all()
    # (the pipeline graded the demo's vendors from their records: most are A now) a market
    # whose sampled vendors are all of one grade has its raw rate as the weighted rate
    one_grade = weighted[weighted[s["weighted.strata"]].str.count("/") == 1]
    assert len(one_grade) >= 1
    assert (one_grade[s["weighted.rate"]] == one_grade[s["weighted.raw"]]).all()
    at.segmented_control(key="coverage_period").set_value("week").run()
    no_exception(at)
    assert len(at.selectbox(key="coverage_when").options) == 13


def test_weighted_rates_weakest_first_and_searchable(use_db):
    """A province has 2 000 markets: the table shows the weakest first and finds one by name."""
    use_db("demo")
    at = run_page("coverage", lang="en")
    no_exception(at)
    s = {k: v["en"] for k, v in strings().items()}
    weighted = at.dataframe[1].value
    rates = [float(v.rstrip("%").strip()) for v in weighted[s["weighted.rate"]]
             if v.rstrip("%").strip().replace(".", "", 1).isdigit()]
    assert rates == sorted(rates) and len(rates) >= 2
    market = weighted[s["market"]].iloc[-1]
    at.text_input(key="weighted_q").set_value(market[:4].lower()).run()
    no_exception(at)
    found = at.dataframe[1].value
    assert market in set(found[s["market"]])
    assert all(market[:4].lower() in m.lower() for m in found[s["market"]])
    at.text_input(key="weighted_q").set_value("no such market").run()
    assert len(at.dataframe[1].value) == 0
