"""Next-test advice beside a negative enzyme screen (issue 19, ``lims.lab.advice``): the words
"not detected (this method cannot see X …)" instead of a bare negative, and what to test next."""

from __future__ import annotations

import streamlit as st

from dashboards.i18n import lang, t
from lims.storage.engine import get_engine, session_scope


@st.cache_data(ttl=60, show_spinner=False)
def advice(db: str, code: str):
    """The advice of the sample's newest result (None: no advice, or no such sample)."""
    from lims.lab import advice as svc

    if not code:
        return None
    with session_scope(get_engine()) as s:
        return svc.advice_for_sample(session=s, code=code)


def detail(tip, text: str = "") -> str:
    """The banner's small line with the caveat first."""
    if tip is None:
        return text
    return f"{tip.caveat(lang())} · {text}" if text else tip.caveat(lang())


def recommend(tip) -> None:
    """The recommendation under the verdict (nothing without advice)."""
    if tip is None:
        return
    what = []
    if tip.gold_methods:
        what.append(t("advice.gold", methods=", ".join(tip.gold_methods)))
    if tip.needs_lab:
        what.append(t("advice.lab"))
    st.warning(t("advice.next_test", names=tip.names(lang()), what=t("advice.or").join(what)))
