"""UI strings and formats in Simplified Chinese and English.

Every label lives in one table, ``dashboards/strings.toml`` (``key = { zh = "…", en = "…" }``);
``t(key)`` returns it in the language chosen in the sidebar. Numbers, percentages, dates and
durations are formatted here too, so a page never formats them itself.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path

import streamlit as st

from lims.settings import load_settings
from lims.timeutil import local_tz

LANGS = ("zh", "en")
STRINGS_FILE = Path(__file__).resolve().parent / "strings.toml"


@cache
def strings() -> dict[str, dict[str, str]]:
    with STRINGS_FILE.open("rb") as fh:
        return tomllib.load(fh)


#: the language of work done outside the page's own run (a download built when its button is
#: pressed runs on another thread, which sees no session state): see ``in_lang``
_LANG: ContextVar[str | None] = ContextVar("lims_ui_lang", default=None)


@contextmanager
def in_lang(code: str) -> Iterator[None]:
    """Labels and formats in ``code`` within the block, whatever the session says."""
    token = _LANG.set(code)
    try:
        yield
    finally:
        _LANG.reset(token)


def lang() -> str:
    if (fixed := _LANG.get()) is not None:
        return fixed
    if "lang" not in st.session_state:
        st.session_state["lang"] = load_settings().lang
    return st.session_state["lang"]


def t(key: str, **fmt) -> str:
    """The label ``key`` in the current language; ``{name}`` fields filled from ``fmt``."""
    entry = strings().get(key)
    text = key if entry is None else entry[lang()]
    return text.format(**fmt) if fmt else text


def language_switch() -> None:
    current = lang()
    choice = st.sidebar.radio(t("lang.label"), list(LANGS), index=LANGS.index(current),
                              format_func=lambda c: "中文" if c == "zh" else "English",
                              horizontal=True, key="lang_switch")
    if choice != current:
        st.session_state["lang"] = choice
        st.rerun()


# --------------------------------------------------------------------------- formats

def num(value: float | int | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def pct(value: float | None, digits: int = 1) -> str:
    """0.953 → "95.3%" (zh) / "95.3 %" (en)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sep = "" if lang() == "zh" else " "
    return f"{value * 100:.{digits}f}{sep}%"


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day(value: date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.date()
    if lang() == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def month(value: date) -> str:
    if lang() == "zh":
        return f"{value.year}年{value.month}月"
    return f"{_MONTHS_EN[value.month - 1]} {value.year}"


def week(value: date) -> str:
    """The ISO week of ``value`` (a Monday): "2026年第48周" / "2026 W48"."""
    y, w, _ = value.isocalendar()
    return f"{y}年第{w}周" if lang() == "zh" else f"{y} W{w:02d}"


def moment(value: datetime | None) -> str:
    """A timestamp in the configured local time zone."""
    if value is None:
        return "—"
    local = value.astimezone(local_tz())   # cached per LIMS_TIMEZONE
    return f"{day(local.date())} {local:%H:%M}"


def duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if lang() == "zh":
        return (f"{h}小时" if h else "") + (f"{m}分" if h or m else "") + f"{sec}秒"
    return (f"{h} h " if h else "") + (f"{m} min " if h or m else "") + f"{sec} s"


def plotly_date_format() -> str:
    """d3 time format for date axes."""
    return "%Y年%m月%d日" if lang() == "zh" else "%d %b %Y"


def name(row: dict, base: str = "name") -> str:
    """Pick ``name_zh``/``name_en`` from a row (falls back to ``name``)."""
    return row.get(f"{base}_{lang()}") or row.get(base) or "—"


def labeller(values, label) -> Callable:
    """A ``format_func`` for a widget: ``label(value)`` computed now, in the current language
    (a lambda calling ``t`` later could run outside the page's session)."""
    texts = {v: label(v) for v in values}
    return texts.__getitem__
