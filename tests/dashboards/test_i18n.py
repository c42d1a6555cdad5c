"""The string table: every key in both languages, every key the app uses exists, and formats."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import streamlit as st

from dashboards import i18n

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def test_every_key_has_both_languages_and_the_same_fields():
    for key, entry in i18n.strings().items():
        assert set(entry) == {"zh", "en"}, key
        assert entry["zh"].strip() and entry["en"].strip(), key
        fields = [{f for _, f, _, _ in string.Formatter().parse(entry[lg]) if f}
                  for lg in ("zh", "en")]
        assert fields[0] == fields[1], key


def _used_keys() -> tuple[set[str], set[str]]:
    """Literal keys passed to t(...), and prefixes of f-string keys (t(f"page.{x}"))."""
    literal, prefixes = set(), set()
    for path in DASHBOARDS.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        literal |= set(re.findall(r"\bt\(\"([^\"{}]+)\"", text))
        prefixes |= set(re.findall(r"\bt\(f\"([^\"{]+)\{", text))
    prefixes |= {k for k in literal if k.endswith(".")}   # t("cal.state." + state)
    return literal - prefixes, prefixes


def test_every_key_the_app_uses_exists():
    literal, prefixes = _used_keys()
    assert len(literal) > 150
    missing = sorted(k for k in literal if k not in i18n.strings())
    assert not missing, missing
    for p in prefixes:
        assert any(k.startswith(p) for k in i18n.strings()), p


def test_enumerated_keys_exist_for_every_value():
    from lims.models.enums import InstrumentKind, MarketKind, MethodKind, ResultStatus, Role
    from lims.reporting.reports import BREAKDOWNS
    from lims.verdicts import Outcome

    keys = i18n.strings()
    for prefix, values in (("role.", Role), ("verdict.", Outcome), ("method_kind.", MethodKind),
                           ("instrument_kind.", InstrumentKind), ("market_kind.", MarketKind),
                           ("breakdown.", BREAKDOWNS), ("result_status.", ResultStatus)):
        for v in values:
            assert f"{prefix}{v}" in keys, f"{prefix}{v}"
    for s in ("ok", "due_soon", "overdue", "failed", "unknown", "not_applicable"):
        assert f"cal.state.{s}" in keys


@pytest.fixture
def lang_state():
    def use(lang: str):
        st.session_state["lang"] = lang
    yield use
    st.session_state.pop("lang", None)


def test_formats_follow_the_language(lang_state):
    lang_state("zh")
    assert i18n.day(date(2026, 3, 7)) == "2026年3月7日"
    assert i18n.pct(0.9534) == "95.3%"
    assert i18n.week(date(2026, 11, 23)) == "2026年第48周"
    assert i18n.duration(754) == "12分34秒"
    assert i18n.t("pass_rate") == "合格率"
    lang_state("en")
    assert i18n.day(date(2026, 3, 7)) == "7 Mar 2026"
    assert i18n.pct(0.9534) == "95.3 %"
    assert i18n.week(date(2026, 11, 23)) == "2026 W48"
    assert i18n.duration(3 * 3600 + 5) == "3 h 0 min 5 s"
    assert i18n.num(12345.678, 1) == "12,345.7"
    assert i18n.num(float("nan")) == "—"
    assert i18n.t("report.title", month="Mar 2026").endswith("Mar 2026")
    # 2026-03-06 20:30 UTC is 04:30 on the 7th in Shanghai
    assert i18n.moment(datetime(2026, 3, 6, 20, 30, tzinfo=UTC)) == "7 Mar 2026 04:30"
