"""The Streamlit app: routing only. Pages live in dashboards/views/ and read through lims/.

(Not dashboards/pages/: Streamlit would also list that folder as a second, automatic navigation.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards import data, filters, identity, station  # noqa: E402
from dashboards.i18n import language_switch, t  # noqa: E402
from lims.errors import LimsError  # noqa: E402

st.set_page_config(page_title="Kuaijian LIMS", page_icon=":material/science:", layout="wide")
filters.keep_across_pages()
language_switch()
identity.sidebar()
if identity.role() is not None:
    station.banner()

P = Path(__file__).resolve().parent / "views"


def page(file: str, key: str, icon: str) -> st.Page:
    """A page whose URL is its file name (/board, /public, /pass_rates …)."""
    return st.Page(str(P / file), title=t(key), icon=icon, url_path=file.removesuffix(".py"))


#: master data set-up: admins (section admin) everywhere, managers for their own county
SETUP = [page("setup.py", "page.setup", ":material/domain_add:"),
         page("setup_people.py", "page.setup_people", ":material/groups:"),
         page("setup_instruments.py", "page.setup_instruments", ":material/biotech:")]
PAGES: dict[str, list[st.Page]] = {
    "field": [page("field_test.py", "page.field_test", ":material/science:")],
    "lab": [
        page("calibration.py", "page.calibration", ":material/build:"),
        page("calibration_record.py", "page.calibration_record", ":material/edit_note:"),
        page("qc.py", "page.qc", ":material/monitoring:"),
        page("method_watch.py", "page.method_watch", ":material/policy:"),
        page("queue.py", "page.queue", ":material/fact_check:"),
        page("release.py", "page.release", ":material/approval:"),
        page("cases.py", "page.cases", ":material/report:"),
        page("reference.py", "page.reference", ":material/menu_book:"),
    ],
    "management": [
        page("pass_rates.py", "page.pass_rates", ":material/trending_up:"),
        page("inbox.py", "page.inbox", ":material/notifications_active:"),
        page("patrols.py", "page.patrols", ":material/nightlife:"),
        page("control_chart.py", "page.control_chart", ":material/rule:"),
        page("heatmap.py", "page.heatmap", ":material/calendar_view_month:"),
        page("breakdowns.py", "page.breakdowns", ":material/bar_chart:"),
        page("coverage.py", "page.coverage", ":material/checklist:"),
        page("vendors.py", "page.vendors", ":material/sell:"),
        page("alerts.py", "page.alerts", ":material/timer:"),
        page("agreement.py", "page.agreement", ":material/balance:"),
        page("outreach.py", "page.outreach", ":material/volunteer_activism:"),
        page("report.py", "page.report", ":material/picture_as_pdf:"),
    ],
    "outreach": [page("meter_check.py", "page.meter_check", ":material/monitor_weight:"),
                 page("outreach_events.py", "page.outreach_events", ":material/event:")],
    "admin": [page("users.py", "page.users", ":material/group:"), *SETUP],
    "public": [page("board.py", "page.board", ":material/campaign:"),
               page("public.py", "page.public_result", ":material/qr_code_scanner:"),
               page("stall.py", "page.stall", ":material/storefront:")],
}

if identity.role() == "manager":   # (no admin section for them: the set-up pages go here)
    PAGES["management"] += SETUP
sections = [s for s in identity.SECTIONS[identity.role()] if PAGES[s]]


def main_page() -> st.Page:
    """The role's main page; an administrator of a county that is not set up yet lands on the
    set-up page with its first-run checklist."""
    if identity.role() == "admin" and data.needs_setup(data.db_key()):
        return SETUP[0]
    return PAGES[sections[0]][0]


def home() -> None:
    """The root URL: on to the role's main page. (The default page of st.navigation is served
    at "/" and not at its own url_path, so no real page may be the default: /board would be
    "Page not found".)"""
    st.switch_page(main_page())


nav_pages = {t(f"nav.{s}"): list(PAGES[s]) for s in sections}
nav_pages[t(f"nav.{sections[0]}")].insert(
    0, st.Page(home, title=t("app.title"), url_path="home", default=True, visibility="hidden"))
nav = st.navigation(nav_pages, expanded=True)
if st.session_state.pop("land_on_home", False):
    st.switch_page(main_page())   # after logging in: the role's main page
try:
    nav.run()
except LimsError as exc:  # safety net: a service refusal the page did not catch itself
    st.error(str(exc))
