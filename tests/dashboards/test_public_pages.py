"""The public pages, as a phone or the entrance screen opens them (no login, URL parameters):
the stall page (一户一码, issue 14), the slip page and the board (issue 13). Held and voided
results are never shown; an unknown market or stall gets a clear message, not an exception."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from lims.enforcement.grades import recompute_grades
from lims.intake.corrections import void_result
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Instrument, Sample, TestResult
from lims.models.enums import Role
from lims.security.auth import SYSTEM
from lims.storage.engine import get_engine
from tests.conftest import PINNED_CLOCK
from tests.dashboards.conftest import APP, login_token, no_exception

NOW = datetime.fromisoformat(PINNED_CLOCK)


def _live(use_db, kind: str = "one_market") -> None:
    """A production database (an account exists, so the app is past its first run)."""
    use_db(kind)
    login_token(Role.FIELD_TESTER)


def _open(page: str, lang: str = "zh", **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = None
    at.switch_page(f"views/{page}.py")
    at.query_params.update(params)
    at.run()
    no_exception(at)
    return at


def _text(at: AppTest) -> str:
    """Everything the page wrote: titles, markdown, notices, captions and table cells."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info",
                                  "warning", "error", "success") for e in at.get(kind)]
    for df in at.dataframe:
        parts.append(df.value.to_string())
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def stall_db(use_db) -> dict[str, str]:
    """One market (M1, stall A01): a shown 芹菜 result, a voided 韭菜 one and a held 菠菜 one
    (an analyzer never calibrated holds its results); grades computed. Returns the codes."""
    _live(use_db)
    with Session(get_engine()) as s:
        s.add(Instrument(serial_no="NO-CAL", model="RP-12", kind="pesticide_analyzer",
                         driver="profile", profile="enzyme-12ch"))
        s.commit()

        def store(commodity: str, at: datetime, bad: bool = False, serial: str | None = None):
            rep = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
                method="ENZ-5009.199", tested_at=at, market="M1", vendor_stall="A01",
                commodity=commodity, instrument_serial=serial, tested_by="tester",
                raw={"control_delta": 0.40, "sample_delta": 0.10 if bad else 0.38})])
            tr = s.get(TestResult, rep.stored[0].result_id)
            return tr, s.get(Sample, tr.sample_id).code

        _, shown = store("芹菜", NOW - timedelta(days=2))
        bad, voided = store("韭菜", NOW - timedelta(days=1), bad=True)
        _, held = store("菠菜", NOW - timedelta(hours=3), bad=True, serial="NO-CAL")
        void_result(session=s, actor=SYSTEM, result_id=bad.id, reason="wrong stall")
        recompute_grades(session=s, actor=SYSTEM, at=NOW)
        s.commit()
    return {"shown": shown, "voided": voided, "held": held}


@pytest.mark.parametrize("lang, words", [
    ("zh", ("东门农贸市场 · 摊位 A01", "评级依据", "芹菜", "阴性")),
    ("en", ("东门农贸市场 · stall A01", "Why:", "celery", "NEGATIVE")),
])
def test_stall_page_shows_grade_and_recent_results_never_held_or_voided(stall_db, lang, words):
    at = _open("stall", lang, market="M1", stall="A01")
    text = _text(at)
    assert at.title[0].value == words[0]
    for w in words[1:]:
        assert w in text, (w, text)
    assert "张记蔬菜" in text
    assert stall_db["shown"] in text
    for hidden in ("voided", "held"):
        assert stall_db[hidden] not in text
    for commodity in ("韭菜", "菠菜", "Chinese chives", "spinach"):
        assert commodity not in text
    if lang == "zh":   # the grade's reason in Chinese, not the English one stored with it
        assert "[rule" not in text and "default grade" not in text


@pytest.mark.parametrize("params, shown", [
    ({"market": "M1", "stall": "Z99"}, "Z99"),
    ({"market": "NOPE", "stall": "A01"}, "NOPE"),
    ({"market": "M1", "stall": "[x](http://evil.example)"}, "evil"),
])
def test_stall_page_unknown_market_or_stall_is_a_clear_message(use_db, params, shown):
    _live(use_db)
    for lang, word in (("zh", "没有找到"), ("en", "No stall")):
        at = _open("stall", lang, **params)
        (err,) = at.error
        assert word in err.value and shown in err.value
        assert "](http" not in err.value       # a link in the URL is shown as plain text


def test_stall_page_without_parameters_offers_a_pick(use_db):
    _live(use_db)
    at = _open("stall")
    assert at.title[0].value == "摊位公示" and at.info
    at.selectbox[1].set_value("A01").run()
    no_exception(at)
    assert at.query_params["stall"] == ["A01"] or at.query_params["stall"] == "A01"
    assert at.title[0].value == "东门农贸市场 · 摊位 A01"


def test_public_slip_page_never_shows_held_or_voided_results(stall_db):
    at = _open("public", code=stall_db["shown"])
    assert "阴性" in _text(at)
    for kind, word in (("held", "正在复核"), ("voided", "已作废")):
        at = _open("public", code=stall_db[kind])
        text = _text(at)
        assert word in text, text
        assert stall_db[kind] in at.title[0].value
        for leak in ("阳性", "POSITIVE", "菠菜", "韭菜", "数值 Value", "处置情况"):
            assert leak not in text, (kind, leak)


def test_board_opens_the_market_of_the_url(use_db):
    use_db("demo")
    at = _open("board", market="CG-02")
    text = _text(at)
    assert "西关批发市场 快检结果公示" in text and "东门农贸市场 快检结果公示" not in text
    assert at.selectbox[0].value == "CG-02"
    at = _open("board", market="hx-01")               # codes are matched case-insensitively
    assert "河西超市 快检结果公示" in _text(at)
    at = _open("board", market="NOPE")
    assert "NOPE" in at.warning[0].value and "东门农贸市场 快检结果公示" in _text(at)


def test_board_redraws_itself_every_minute():
    """The board's body is a Streamlit fragment with run_every (no click needed)."""
    import ast
    from pathlib import Path

    src = (Path(__file__).resolve().parents[2] / "dashboards" / "views" / "board.py").read_text()
    tree = ast.parse(src)
    every = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for d in node.decorator_list:
                if isinstance(d, ast.Call) and ast.unparse(d.func) == "st.fragment":
                    every[node.name] = {k.arg: ast.unparse(k.value) for k in d.keywords}
    assert every and all(kw.get("run_every") for kw in every.values())
    assert "REFRESH_SECONDS = 60" in src
