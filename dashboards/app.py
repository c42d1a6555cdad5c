"""The Streamlit app: routing only. Pages live in dashboards/views/ and read through lims/.

(Not dashboards/pages/: Streamlit would also list that folder as a second, automatic navigation.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards import filters, identity, station  # noqa: E402
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


PAGES: dict[str, list[st.Page]] = {
    "field": [page("field_test.py", "page.field_test", ":material/science:")],
    "lab": [
        page("calibration.py", "page.calibration", ":material/build:"),
        page("qc.py", "page.qc", ":material/monitoring:"),
        page("queue.py", "page.queue", ":material/fact_check:"),
        page("cases.py", "page.cases", ":material/report:"),
        page("reference.py", "page.reference", ":material/menu_book:"),
    ],
    "management": [
        page("pass_rates.py", "page.pass_rates", ":material/trending_up:"),
        page("control_chart.py", "page.control_chart", ":material/rule:"),
        page("heatmap.py", "page.heatmap", ":material/calendar_view_month:"),
        page("breakdowns.py", "page.breakdowns", ":material/bar_chart:"),
        page("vendors.py", "page.vendors", ":material/sell:"),
        page("alerts.py", "page.alerts", ":material/timer:"),
        page("agreement.py", "page.agreement", ":material/balance:"),
        page("outreach.py", "page.outreach", ":material/volunteer_activism:"),
        page("report.py", "page.report", ":material/picture_as_pdf:"),
    ],
    "admin": [page("users.py", "page.users", ":material/group:"),
              page("setup.py", "page.setup", ":material/domain_add:")],
    "public": [page("board.py", "page.board", ":material/campaign:"),
               page("public.py", "page.public_result", ":material/qr_code_scanner:")],
}

sections = [s for s in identity.SECTIONS[identity.role()] if PAGES[s]]
nav = st.navigation({t(f"nav.{s}"): PAGES[s] for s in sections}, expanded=True)
if st.session_state.pop("land_on_home", False):
    st.switch_page(PAGES[sections[0]][0])   # after logging in: the role's main page
try:
    nav.run()
except LimsError as exc:  # safety net: a service refusal the page did not catch itself
    st.error(str(exc))
