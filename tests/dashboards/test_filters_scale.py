"""The sidebar filters at province scale (issue 17): county first, then only that county's markets;
options read once per data version, not on every rerun."""

from __future__ import annotations

from sqlmodel import Session, select

from dashboards import filters
from lims.models import Market
from lims.reporting import stats
from lims.storage.engine import get_engine
from tests.dashboards.conftest import no_exception, run_page


def test_county_narrows_the_markets_and_reruns_do_not_reread_options(use_db, monkeypatch):
    use_db("demo")
    reads = []
    real = stats.filter_options
    monkeypatch.setattr(stats, "filter_options", lambda **kw: reads.append(1) or real(**kw))
    monkeypatch.setattr(filters, "MARKET_LIMIT", 3)   # the demo has 4 markets in 2 counties
    with Session(get_engine()) as s:
        hexi = {m.name for m in s.exec(select(Market).where(Market.county == "河西县"))}
    assert len(hexi) == 2

    at = run_page("pass_rates")
    no_exception(at)
    assert len(at.multiselect(key="f_markets").options) == 3
    assert any("3" in c.value and "4" in c.value for c in at.caption)

    at.selectbox(key="f_county").set_value("河西县").run()
    no_exception(at)
    assert set(at.multiselect(key="f_markets").options) == hexi
    assert not any("4" in c.value and "3" in c.value for c in at.caption)

    at.switch_page("views/breakdowns.py").run()   # carried over to the next page
    no_exception(at)
    assert at.selectbox(key="f_county").value == "河西县"
    assert set(at.multiselect(key="f_markets").options) == hexi
    assert len(reads) == 1
