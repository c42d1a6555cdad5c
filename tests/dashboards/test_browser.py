"""The app in a real browser: headless Chromium driven by Playwright against `lims serve`.

One server on a temporary demo database for the module; each role logs in through the sidebar
and clicks through its main flow. Any Streamlit exception box fails the test. Screenshots go to
tests/artifacts/ (git-ignored); docs/screenshots/ holds copies of a few for the README.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("LIMS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "Stand-Test-2026-ok"
USERS = {"zhang.field": "field_tester", "li.lab": "lab_technician", "wang.boss": "manager",
         "chen.admin": "admin"}


class App:
    """One browser tab on the app, with the few moves the tests need."""

    def __init__(self, browser, base: str, path: str = ""):
        self.ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
        self.page = self.ctx.new_page()
        self.page.set_default_timeout(30_000)
        self.page.goto(f"{base}/{path}")
        self.page.wait_for_selector('[data-testid="stSidebar"]')
        self.page.get_by_role("heading").first.wait_for()
        self.settle()

    def settle(self) -> None:
        """Wait until the script has stopped running for a moment (no status widget for 0.75 s)."""
        quiet, deadline = 0, time.monotonic() + 60
        while quiet < 3 and time.monotonic() < deadline:
            self.page.wait_for_timeout(250)
            running = self.page.locator('[data-testid="stStatusWidget"]').count()
            quiet = 0 if running else quiet + 1
        self.no_exception()

    def no_exception(self) -> None:
        boxes = self.page.locator('[data-testid="stException"]')
        assert boxes.count() == 0, boxes.first.inner_text()

    def heading(self, text: str) -> None:
        self.page.get_by_role("heading", name=text).first.wait_for()
        self.settle()

    def login(self, username: str) -> None:
        """Log in through the sidebar form (retried: a keystroke that lands while the page is
        still being drawn can be lost)."""
        side = self.page.locator('[data-testid="stSidebar"]')
        for attempt in range(4):
            side.get_by_label("用户名").wait_for()
            self.settle()
            side.get_by_label("用户名").fill(username)
            side.get_by_label("密码").fill(PASSWORD)
            self.page.wait_for_timeout(300)
            side.get_by_label("密码").press("Enter")
            try:
                side.get_by_text("已登录").wait_for(timeout=8_000)
                break
            except Exception:
                if attempt == 3:
                    self.shot(f"login_failed_{username}")
                    raise
        self.settle()

    def nav(self, title: str) -> None:
        self.page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()
        self.heading(title)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.ctx.close()


def test_public_board_needs_no_login(server, browser):
    app = App(browser, server, "board")
    app.page.get_by_text("快检结果公示").first.wait_for()
    app.settle()
    assert app.page.get_by_text("今日结果").count() == 1
    app.shot("board")
    app.close()


def test_field_tester_records_a_card_test(server, browser):
    app = App(browser, server)
    app.login("zhang.field")
    app.heading("摊位快检")
    app.page.get_by_text("速测卡(手工录入)").click()
    app.settle()
    app.page.get_by_text("白色,不变色").click()
    app.page.get_by_role("button", name="记录结果").click()
    banner = app.page.locator("[data-testid='verdict-banner']")
    banner.wait_for()
    app.settle()
    assert banner.get_attribute("data-verdict") == "positive"
    assert "阳性" in banner.inner_text()
    app.shot("field_positive")
    app.close()


def test_lab_technician_calibration_qc_cases(server, browser):
    app = App(browser, server)
    app.login("li.lab")
    app.heading("仪器校准状态")
    app.shot("lab_calibration")
    app.nav("质控图")
    app.shot("lab_qc")
    app.nav("阳性案件")
    app.shot("lab_cases")
    app.nav("基础数据")
    app.close()


def test_manager_pages_report_and_english(server, browser):
    app = App(browser, server)
    app.login("wang.boss")
    app.heading("合格率趋势")
    app.shot("pass_rates")
    for title, name in (("控制图(p 图)", "p_chart"), ("市场×周热力图", "heatmap"),
                        ("经营户信用等级", "vendors"), ("预警响应时间", "alerts")):
        app.nav(title)
        app.shot(name)
    app.nav("月度报告与导出")
    app.page.get_by_role("button", name="生成 PDF 报告").click()
    app.page.get_by_role("button", name="下载 PDF 报告").wait_for(timeout=60_000)
    app.settle()
    app.page.locator('[data-testid="stSidebar"]').get_by_text("English").click()
    app.heading("Monthly report & exports")
    app.nav("Pass-rate trends")
    app.shot("pass_rates_en")
    app.close()


def test_admin_sees_every_section_and_users(server, browser):
    app = App(browser, server)
    app.login("chen.admin")
    app.heading("合格率趋势")
    app.nav("用户管理")
    assert app.page.get_by_text("chen.admin").count() >= 1
    app.page.locator('[data-testid="stSidebar"]').get_by_role("button", name="退出登录").click()
    app.page.get_by_text("快检结果公示").first.wait_for()
    app.settle()
    app.close()


def test_table_downloads_are_built_on_press_in_the_persons_language(server, browser):
    """Downloads are built when their button is pressed, on a thread of Streamlit's without
    the session: the weighted rates' CSV still comes in English for an English page, with every
    market (the page shows only the weakest 50)."""
    app = App(browser, server)
    app.login("wang.boss")
    app.heading("合格率趋势")
    app.page.locator('[data-testid="stSidebar"]').get_by_text("English").click()
    app.heading("Pass-rate trends")
    app.nav("Coverage & weighted pass rates")
    buttons = app.page.get_by_role("button", name="Download CSV")
    assert buttons.count() == 2
    with app.page.expect_download(timeout=60_000) as got:
        buttons.nth(1).click()   # the weighted pass rates
    text = Path(got.value.path()).read_bytes().decode("utf-8-sig")
    header, *rows = text.splitlines()
    assert header.split(",")[:2] == ["Market", "Tested"] and "Weighted pass rate" in header
    assert len(rows) >= 4 and all(r.split(",")[0] for r in rows)   # every market of the demo
    app.no_exception()
    app.close()
