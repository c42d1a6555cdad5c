"""The management pages open at county level and drill down to one county's markets; the vendor
table is searched and read page by page (issue 17)."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from lims.models import Market, Vendor
from lims.storage.engine import get_engine
from tests.dashboards.conftest import no_exception, run_page


def _metric(at, label: str) -> int:
    return int(next(m.value for m in at.metric if m.label == label).replace(",", ""))


def _markets_of(county: str) -> set[str]:
    with Session(get_engine()) as s:
        return set(s.exec(select(Market.name).where(Market.county == county)).all())


def test_trend_by_county_then_the_markets_of_one_county(use_db):
    use_db("demo")
    at = run_page("pass_rates")
    no_exception(at)
    assert set(at.dataframe[0].value.iloc[:, 0]) == {"城关区", "河西县"}
    everything = _metric(at, "检测数")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {tr.get("name") for tr in spec["data"]}
    assert {"城关区", "河西县"} <= names
    at.selectbox(key="trend_county").set_value("河西县").run()
    no_exception(at)
    markets = set(at.dataframe[0].value.iloc[:, 0])
    assert markets and markets <= _markets_of("河西县")
    assert _metric(at, "检测数") < everything
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {tr.get("name") for tr in spec["data"]} & markets


def test_heatmap_rows_are_counties_then_markets(use_db):
    use_db("demo")
    at = run_page("heatmap")
    no_exception(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert set(spec["data"][0]["y"]) == {"城关区", "河西县"}
    at.selectbox(key="heatmap_county").set_value("城关区").run()
    no_exception(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert set(spec["data"][0]["y"]) and set(spec["data"][0]["y"]) <= _markets_of("城关区")


def test_vendor_table_is_searched_and_paged(use_db):
    use_db("demo")
    with Session(get_engine()) as s:
        n = len(s.exec(select(Vendor.id)).all())
        one = s.exec(select(Vendor).order_by(Vendor.id)).first()
    at = run_page("vendors", lang="en")
    no_exception(at)
    table = at.dataframe[-1].value
    assert len(table) == min(n, 50)
    assert any(f"of {n:,}" in c.value for c in at.caption)
    at.text_input(key="vendor_search").set_value(one.stall).run()
    no_exception(at)
    found = at.dataframe[-1].value
    assert 0 < len(found) < n or n == 1
    assert all(one.stall in v for v in found["Vendor (stall)"])
