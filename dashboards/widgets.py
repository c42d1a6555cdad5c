"""Small page components shared by several pages (HTML kept here, not in the pages)."""

from __future__ import annotations

import html
import io

import qrcode
import streamlit as st

from dashboards.i18n import lang, t

#: outcome → (background, text colour, symbol). Colour is never alone: the word and symbol say it.
VERDICT_STYLE = {
    "negative": ("#1a7f37", "#ffffff", "✓"),
    "compliant": ("#1a7f37", "#ffffff", "✓"),
    "positive": ("#cf222e", "#ffffff", "✗"),
    "noncompliant": ("#cf222e", "#ffffff", "✗"),
    "suspicious": ("#d4a72c", "#1f2328", "?"),
    "invalid": ("#57606a", "#ffffff", "⊘"),
}

ZH_WORD = {"negative": "阴性", "positive": "阳性", "suspicious": "可疑", "invalid": "无效",
           "compliant": "合格", "noncompliant": "不合格"}


def verdict_banner(outcome: str, detail: str = "", *, size_rem: float = 7.0) -> None:
    """A verdict readable from two metres: colour, symbol and the word (Chinese always)."""
    bg, fg, symbol = VERDICT_STYLE.get(outcome, ("#57606a", "#ffffff", "•"))
    word = ZH_WORD.get(outcome, outcome)
    second = "" if lang() == "zh" else f"<div style='font-size:{size_rem / 3:.1f}rem'>" \
                                       f"{html.escape(t(f'verdict.{outcome}'))}</div>"
    st.markdown(
        f"<div data-testid='verdict-banner' data-verdict='{outcome}' role='status' "
        f"aria-label='{html.escape(t(f'verdict.{outcome}'))}' style='background:{bg};color:{fg};"
        f"border-radius:1rem;padding:1.2rem;text-align:center;line-height:1.1'>"
        f"<div style='font-size:{size_rem}rem;font-weight:800'>{symbol} {word}</div>{second}"
        f"<div style='font-size:1.3rem;margin-top:.4rem'>{html.escape(detail)}</div></div>",
        unsafe_allow_html=True)


def verdict_chip(outcome: str) -> str:
    """Verdict as text for tables: symbol and word."""
    _, _, symbol = VERDICT_STYLE.get(outcome, ("", "", "•"))
    return f"{symbol} {t(f'verdict.{outcome}')}"


def grade_badge(grade: str | None) -> str:
    colours = {"A": "#1a7f37", "B": "#0969da", "C": "#bf8700", "D": "#cf222e"}
    g = grade or "?"
    return (f"<span style='background:{colours.get(g, '#57606a')};color:white;border-radius:.4rem;"
            f"padding:.1rem .6rem;font-weight:700;font-size:1.4rem'>{html.escape(g)}</span> "
            f"{html.escape(t(f'grade.{g}') if g in colours else '')}")


def qr_png(text: str, box_size: int = 6) -> bytes:
    img = qrcode.make(text, box_size=box_size, border=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def touch_css() -> None:
    """Bigger controls for a touch screen at the stand."""
    st.markdown(
        "<style>div.stButton>button,div.stFormSubmitButton>button{min-height:3.2rem;"
        "font-size:1.25rem;width:100%}div[data-baseweb=select]{font-size:1.2rem}"
        "div[role=radiogroup] label{font-size:1.2rem;padding:.35rem .2rem}</style>",
        unsafe_allow_html=True)
