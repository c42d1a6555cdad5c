"""The Streamlit app: routing only. Pages live in dashboards/pages/ and read through lims/."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards import filters, identity  # noqa: E402
from dashboards.i18n import language_switch, t  # noqa: E402

st.set_page_config(page_title="Kuaijian LIMS", page_icon="🧪", layout="wide")
filters.keep_across_pages()
language_switch()
identity.sidebar()

P = Path(__file__).resolve().parent / "pages"


def page(file: str, key: str, icon: str, slug: str) -> st.Page:
    return st.Page(str(P / file), title=t(key), icon=icon, url_path=slug)


PAGES: dict[str, list[st.Page]] = {
    "field": [page("field_test.py", "page.field_test", "🧪", "field")],
    "lab": [
        page("calibration.py", "page.calibration", "🛠️", "calibration"),
        page("qc.py", "page.qc", "📉", "qc"),
        page("cases.py", "page.cases", "🚨", "cases"),
        page("reference.py", "page.reference", "📚", "reference"),
    ],
    "management": [
        page("pass_rates.py", "page.pass_rates", "📈", "pass-rates"),
        page("control_chart.py", "page.control_chart", "🚦", "p-chart"),
        page("heatmap.py", "page.heatmap", "🗓️", "heatmap"),
        page("breakdowns.py", "page.breakdowns", "🧮", "breakdowns"),
        page("vendors.py", "page.vendors", "🏷️", "vendors"),
        page("alerts.py", "page.alerts", "⏱️", "alerts"),
        page("agreement.py", "page.agreement", "⚖️", "agreement"),
        page("outreach.py", "page.outreach", "🤝", "outreach"),
        page("report.py", "page.report", "📄", "report"),
    ],
    "admin": [page("users.py", "page.users", "👥", "users")],
    "public": [page("board.py", "page.board", "📋", "board"),
               page("public_result.py", "page.public_result", "🔎", "public")],
}

sections = [s for s in identity.SECTIONS[identity.role()] if PAGES[s]]
nav = st.navigation({t(f"nav.{s}"): PAGES[s] for s in sections})
nav.run()
