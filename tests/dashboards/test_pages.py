"""Every page renders on an empty database, with one market, and with demo data, in both
languages; the title is the page's own (so navigation really reached it)."""

from __future__ import annotations

import pytest

from dashboards.i18n import strings
from lims.models.enums import Role
from tests.dashboards.conftest import KINDS, no_exception, run_page

#: page file → its title key (None: the page draws its own title, e.g. the Chinese board)
PAGES = {
    "pass_rates": "page.pass_rates", "control_chart": "page.control_chart",
    "heatmap": "page.heatmap", "breakdowns": "page.breakdowns", "vendors": "page.vendors",
    "coverage": "page.coverage",
    "alerts": "page.alerts", "agreement": "page.agreement", "outreach": "page.outreach",
    "report": "page.report", "field_test": "page.field_test", "calibration": "page.calibration",
    "qc": "page.qc", "queue": "page.queue", "cases": "page.cases", "reference": "page.reference",
    "users": "page.users", "setup": "page.setup",
    "setup_people": "page.setup_people", "setup_instruments": "page.setup_instruments",
    "board": None, "public": None,
    "calibration_record": "page.calibration_record", "meter_check": "page.meter_check",
    "outreach_events": "page.outreach_events",
    "stall": "page.stall",
    "inbox": "page.inbox", "patrols": "page.patrols",
    "method_watch": "page.method_watch", "release": "page.release",
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders(use_db, kind, page):
    use_db(kind)
    at = run_page(page)
    no_exception(at)
    key = PAGES[page]
    if key is not None:
        assert at.title[0].value == strings()[key]["zh"]


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_english(use_db, page):
    use_db("demo")
    at = run_page(page, lang="en")
    no_exception(at)
    key = PAGES[page]
    if key is not None:
        assert at.title[0].value == strings()[key]["en"]


def test_every_page_file_is_tested():
    from pathlib import Path

    files = {p.stem for p in (Path(__file__).resolve().parents[2] / "dashboards" / "views")
             .glob("*.py") if p.stem != "__init__"}
    assert files == set(PAGES)


@pytest.mark.parametrize("role, allowed, refused", [
    (None, "board", "pass_rates"),
    (Role.FIELD_TESTER, "field_test", "calibration"),
    (Role.LAB_TECHNICIAN, "calibration", "pass_rates"),
    (Role.MANAGER, "pass_rates", "field_test"),
])
def test_navigation_by_role(use_db, role, allowed, refused):
    use_db("demo")
    ok = run_page(allowed, role=role)
    no_exception(ok)
    if PAGES[allowed]:
        assert ok.title[0].value == strings()[PAGES[allowed]]["zh"]
    other = run_page(refused, role=role)
    no_exception(other)
    titles = [t.value for t in other.title]
    assert strings()[PAGES[refused]]["zh"] not in titles


def test_language_switch_changes_labels(use_db):
    use_db("demo")
    at = run_page(None)  # an admin's default page: the pass-rate trends
    assert at.title[0].value == "合格率趋势"
    at.radio(key="lang_switch").set_value("en").run()
    no_exception(at)
    assert at.title[0].value == "Pass-rate trends"
    assert at.metric[0].label == "Overall pass rate"
