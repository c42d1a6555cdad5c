"""The Streamlit app: routing only. Pages live in dashboards/pages/ and read through lims/."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards.i18n import language_switch, t  # noqa: E402

st.set_page_config(page_title="Kuaijian LIMS", page_icon="🧪", layout="wide")
language_switch()

PAGES = Path(__file__).resolve().parent / "pages"
nav = st.navigation({
    t("nav.management"): [
        st.Page(str(PAGES / "pass_rates.py"), title=t("page.pass_rates"), icon="📈",
                url_path="pass-rates", default=True),
    ],
})
nav.run()
