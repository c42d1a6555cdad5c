"""Public: one stall's record (一户一码), opened from the QR code on its placard.

/stall?market=CODE&stall=STALL shows the stall's credit grade with its reason and its recent
results, in the language chosen in the sidebar; no login. Results held for review and voided
ones are never listed (``lims.field.board.stall_view``). Placards: ``lims stall placard``.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

import streamlit as st

from dashboards import data, widgets
from dashboards import i18n as fmt
from dashboards.i18n import lang, t
from dashboards.identity import plain
from lims.errors import NotFound
from lims.field import board


@st.cache_data(ttl=15, show_spinner=False)
def _view(db: str, market: str, stall: str) -> board.StallView | None:
    try:
        with data.session() as s:
            return board.stall_view(session=s, market=market, stall=stall)
    except NotFound:
        return None


def _pick() -> None:
    """No stall in the URL: pick one (the choice goes into the URL, as the QR code has it)."""
    st.title(t("page.stall"))
    st.info(t("stall.ask"))
    markets = data.filter_options(db)["markets"]
    if not markets:
        st.info(t("stall.no_markets"))
        st.stop()
    by_code = {m["code"]: m for m in markets}
    codes = list(by_code)
    c1, c2 = st.columns(2)
    code = c1.selectbox(t("stall.market"), codes, format_func=lambda c: by_code[c]["name"],
                        index=codes.index(market) if market in by_code else 0)
    stalls = [v["stall"] for v in data.vendors_of(db, by_code[code]["id"])]
    picked = c2.selectbox(t("stall.stall"), stalls, index=None)
    if picked:
        st.query_params.update({"market": code, "stall": picked})
        st.rerun()
    st.stop()


db = data.db_key()
market = (st.query_params.get("market") or "").strip()[:60]
stall = (st.query_params.get("stall") or "").strip()[:60]
if not market or not stall:
    _pick()
v = _view(db, market, stall)
if v is None:   # what the URL says is shown as plain text, never as markup
    st.title(t("page.stall"))
    st.error(t("stall.unknown", market=plain(market), stall=plain(stall)))
    st.stop()

st.title(t("stall.heading", market=v.market, stall=v.stall))
if v.name:
    st.subheader(v.name)
if not v.active:
    st.warning(t("stall.closed"))
reason = (v.reason_zh if lang() == "zh" else None) or v.reason_en
st.markdown(f"<div style='font-size:1.3rem'>{html.escape(t('stall.grade'))}: "
            f"{widgets.grade_badge(v.grade)}</div>", unsafe_allow_html=True)
st.caption(t("stall.reason", reason=reason) if reason else t("stall.not_graded"))

st.subheader(t("stall.recent", days=board.RECENT_DAYS))
if not v.results:
    st.info(t("stall.no_results", days=board.RECENT_DAYS))
else:   # an HTML table (escaped): readable on a phone, large type, verdicts in colour
    zh = lang() == "zh"
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in (
        t("stall.col.tested"), t("stall.col.commodity"), t("method"), t("verdict"),
        t("stall.col.code")))
    body = []
    for r in v.results:
        bg, fg, _ = widgets.VERDICT_STYLE.get(r.verdict, ("#57606a", "#fff", "•"))
        cells = (fmt.moment(r.tested_at), r.commodity_zh if zh else r.commodity_en,
                 r.method_zh if zh else r.method_en)
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) +
                    f"<td><span style='background:{bg};color:{fg};border-radius:.3rem;"
                    f"padding:0 .4rem;white-space:nowrap'>"
                    f"{html.escape(widgets.verdict_chip(r.verdict))}</span></td>"
                    f"<td><a href='public?{html.escape(urlencode({'code': r.code}))}' "
                    f"target='_self'>{html.escape(r.code)}</a></td></tr>")
    st.markdown("<table style='width:100%;font-size:1.1rem'><tr>" + head + "</tr>" +
                "".join(body) + "</table>", unsafe_allow_html=True)
st.caption(t("stall.disclaimer"))
