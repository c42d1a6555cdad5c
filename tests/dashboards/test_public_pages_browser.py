"""The public pages in a real browser (Debian Chromium via Playwright) against `lims serve`:
/board?market=CODE opens that market, /stall?market=M&stall=S that stall, and no page carries
Streamlit's developer chrome (the "Deploy" button, the main menu)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from lims.security import users
from lims.security.auth import SYSTEM
from tests.conftest import PINNED_DAY, _ready_engine
from tests.dashboards import seed
from tests.dashboards.live_app import lims_serve
from tests.dashboards.test_browser import App

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("public_browser")
    url = f"sqlite:///{d / 'lims.sqlite3'}"
    eng = _ready_engine(url)
    with Session(eng) as s:
        seed.small_demo(s, until=PINNED_DAY, weeks=2)
        users.add_user(session=s, actor=SYSTEM, username="chen.admin", role="admin",
                       password="Stand-Test-2026-ok")   # a live database, past its first run
        s.commit()
    eng.dispose()
    # started outside the repository: the toolbar setting must not depend on .streamlit/ there
    with lims_serve(d, url, cwd=d) as base:
        yield base


def _no_developer_chrome(app: App) -> None:
    page = app.page
    assert page.get_by_role("button", name="Deploy").count() == 0
    assert page.get_by_text("Deploy", exact=True).count() == 0
    assert page.locator('[data-testid="stMainMenu"]').count() == 0
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0


def test_board_url_opens_that_market(server, browser):  # noqa: F811
    app = App(browser, server, "board?market=CG-02")
    app.page.get_by_text("西关批发市场 快检结果公示").first.wait_for()
    app.settle()
    assert app.page.get_by_text("东门农贸市场 快检结果公示").count() == 0
    assert app.page.get_by_text("今日结果").count() == 1
    assert app.page.get_by_text("Page not found").count() == 0
    _no_developer_chrome(app)
    app.shot("board_market_cg02")
    app.close()


def test_stall_url_opens_that_stall(server, browser):  # noqa: F811
    app = App(browser, server, "stall?market=CG-01&stall=01-02")
    app.heading("东门农贸市场 · 摊位 01-02")
    assert app.page.get_by_text("信用等级").count() >= 1
    assert app.page.get_by_text("近期快检结果").count() == 1
    link = app.page.locator("a[href^='public?code=']").first   # a result opens its own page
    code = link.inner_text()
    assert len(code) >= 4
    _no_developer_chrome(app)
    app.shot("stall_cg01_0102")
    link.click()
    app.heading(f"快检结果 · {code}")
    app.page.goto(f"{server}/stall?market=CG-01&stall=ZZ-99")
    app.page.get_by_text("没有找到市场").first.wait_for()
    app.settle()
    app.close()
