"""Public board (公示): a market's results today and this week, in Chinese, large type, no login.

Open it as /board?market=CODE on the screen at the market entrance: it opens that market and
redraws itself every minute (``REFRESH_SECONDS``) without a click.
"""

from __future__ import annotations

import html

import streamlit as st

from dashboards import data, widgets
from dashboards.i18n import strings
from dashboards.identity import plain
from lims.settings import load_settings
from lims.timeutil import now

# The board is for the public at the entrance: always Chinese, whatever the sidebar says.
WORD = widgets.ZH_WORD
REFRESH_SECONDS = 60
db = data.db_key()
opts = data.filter_options(db)
st.markdown("<style>.board td,.board th{font-size:1.9rem;padding:.45rem .9rem}"
            ".board{width:100%;border-collapse:collapse}.board tr{border-bottom:1px solid #ddd}"
            "</style>", unsafe_allow_html=True)
if not opts["markets"]:
    st.title("快检结果公示")
    st.info("暂无市场。")
    st.stop()

by_code = {m["code"]: m for m in opts["markets"]}
asked = (st.query_params.get("market") or "").strip()
wanted = next((c for c in by_code if c.upper() == asked.upper()), None)
codes = list(by_code)
if asked and wanted is None:   # a mistyped address: say so, show the first market
    st.warning(strings()["board.unknown_market"]["zh"].format(market=plain(asked[:40])))


def _remember() -> None:
    """Put the picked market in the URL, so the entrance screen can bookmark it."""
    st.query_params["market"] = st.session_state["board_market"]


code = st.selectbox("市场", codes, index=codes.index(wanted) if wanted in by_code else 0,
                    format_func=lambda c: by_code[c]["name"], key="board_market",
                    label_visibility="collapsed", on_change=_remember)


def table(rows, with_day: bool, tz) -> str:
    """Rows of the board as a large-type HTML table (every field escaped)."""
    head = ("<tr><th>日期</th>" if with_day else "<tr>") + \
        "<th>品种</th><th>摊位</th><th>结果</th><th>处置</th></tr>"
    body = []
    for r in rows:
        bg, fg, symbol = widgets.VERDICT_STYLE.get(r.verdict, ("#57606a", "#fff", "•"))
        local = r.tested_at.astimezone(tz)
        day = f"<td>{local.month}月{local.day}日</td>" if with_day else ""
        handling = "<br>".join(html.escape(h.split(" / ")[0]) for h in r.handling)
        body.append(f"<tr>{day}<td>{html.escape(r.commodity_zh)}</td>"
                    f"<td>{html.escape(r.stall or '—')}</td>"
                    f"<td><span style='background:{bg};color:{fg};border-radius:.4rem;"
                    f"padding:0 .6rem;white-space:nowrap'>{symbol} "
                    f"{WORD.get(r.verdict, r.verdict_zh)}</span></td>"
                    f"<td style='font-size:1.3rem'>{handling}</td></tr>")
    return f"<table class='board'>{head}{''.join(body)}</table>"


@st.fragment(run_every=REFRESH_SECONDS)
def show(code: str) -> None:
    """The board of market ``code``; Streamlit reruns only this part every minute."""
    tz = load_settings().timezone
    today = now().astimezone(tz).date()
    board = data.market_board(db, by_code[code]["id"], today)

    st.markdown(f"<h1 style='font-size:3.4rem;text-align:center;margin:0'>"
                f"{html.escape(board.market)} 快检结果公示</h1>"
                f"<p style='font-size:1.8rem;text-align:center'>{today.year}年{today.month}月"
                f"{today.day}日</p>", unsafe_allow_html=True)
    counts = board.counts(board.today)
    bad_today = sum(counts.get(v, 0) for v in ("positive", "suspicious", "noncompliant"))
    good_today = sum(counts.get(v, 0) for v in ("negative", "compliant"))
    c1, c2, c3 = st.columns(3)
    c1.metric("今日检测", len(board.today))
    c2.metric("今日阴性/合格", good_today)
    c3.metric("今日阳性/可疑", bad_today)
    st.markdown("## 今日结果")
    if board.today:
        st.markdown(table(board.today, False, tz), unsafe_allow_html=True)
    else:
        st.markdown("<p style='font-size:1.8rem'>今日暂无检测结果。</p>", unsafe_allow_html=True)
    st.markdown("## 本周结果")
    earlier = [r for r in board.week if r.tested_at.astimezone(tz).date() != today]
    if earlier:
        st.markdown(table(earlier, True, tz), unsafe_allow_html=True)
    else:
        st.markdown("<p style='font-size:1.8rem'>本周其他日期暂无检测结果。</p>",
                    unsafe_allow_html=True)
    st.caption("阳性样品已按规定暂停销售并送检复核。快检结果仅供参考,不代替法定检验。")


show(code)
