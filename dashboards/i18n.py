"""UI strings in Simplified Chinese and English; ``t(key)`` in the language chosen in the sidebar."""

from __future__ import annotations

import streamlit as st

from lims.settings import load_settings

STRINGS: dict[str, dict[str, str]] = {
    "app.title": {"zh": "快检 LIMS", "en": "Kuaijian LIMS"},
    "lang.label": {"zh": "语言 / Language", "en": "语言 / Language"},
    "nav.management": {"zh": "管理", "en": "Management"},
    "page.pass_rates": {"zh": "合格率趋势", "en": "Pass-rate trends"},
    "filter.county": {"zh": "区县", "en": "County"},
    "filter.markets": {"zh": "市场", "en": "Markets"},
    "filter.commodities": {"zh": "品种", "en": "Commodities"},
    "filter.period": {"zh": "日期范围", "en": "Period"},
    "all": {"zh": "全部", "en": "All"},
    "week": {"zh": "周", "en": "Week"},
    "market": {"zh": "市场", "en": "Market"},
    "pass_rate": {"zh": "合格率", "en": "Pass rate"},
    "tested": {"zh": "检测数", "en": "Tested"},
    "passed": {"zh": "合格数", "en": "Passed"},
    "failed": {"zh": "不合格数", "en": "Failed"},
    "ci": {"zh": "95% 置信区间", "en": "95 % interval"},
    "no_data": {"zh": "所选范围内没有检测结果。", "en": "No results in the selected range."},
    "overall": {"zh": "总体合格率", "en": "Overall pass rate"},
}


def lang() -> str:
    if "lang" not in st.session_state:
        st.session_state["lang"] = load_settings().lang
    return st.session_state["lang"]


def t(key: str) -> str:
    entry = STRINGS.get(key)
    if entry is None:
        return key
    return entry[lang()]


def language_switch() -> None:
    current = lang()
    choice = st.sidebar.radio(t("lang.label"), ["zh", "en"], index=["zh", "en"].index(current),
                              format_func=lambda c: "中文" if c == "zh" else "English",
                              horizontal=True, key="lang_switch")
    if choice != current:
        st.session_state["lang"] = choice
        st.rerun()
