"""A county goes live in the browser (issue 13, "done when"): from an empty database with one
administrator, and without the command line, the admin sets up a grid group, a market, two stalls,
an instrument and a field tester and a manager; the tester records a card test at a stall; the
manager sees it on the pass-rate page; the public board of the market shows it.

Headless Debian Chromium drives a real `lims serve`; screenshots go to tests/artifacts/
(county_*.png; docs/screenshots/setup.png is a copy of the set-up page for the README)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from lims.models import Market, TestResult, User, Vendor
from lims.security import users
from lims.security.auth import SYSTEM
from tests.conftest import _ready_engine
from tests.dashboards.live_app import lims_serve
from tests.dashboards.test_browser import PASSWORD, App

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("county")
    url = f"sqlite:///{d / 'lims.sqlite3'}"
    eng = _ready_engine(url)           # migrated, reference data only: no places, no demo
    with Session(eng) as s:
        users.add_user(session=s, actor=SYSTEM, username="chen.admin", role="admin",
                       password=PASSWORD)
        s.commit()
    try:
        with lims_serve(d, url) as base:
            yield base, eng
    finally:
        eng.dispose()


def form(app: App, n: int):
    return app.page.locator('[data-testid="stForm"]').nth(n)


def choose(app: App, scope, label: str, option: str) -> None:
    box = scope.get_by_label(label, exact=True)
    for attempt in range(3):   # a click that lands while the page reruns closes the list again
        box.click()
        try:
            app.page.get_by_role("option", name=option).first.click(timeout=5_000)
            return
        except Exception:
            app.settle()
            if attempt == 2:
                app.shot(f"choose_failed_{label}")
                raise


def save(app: App, scope, button: str = "保存") -> None:
    scope.get_by_role("button", name=button).click()
    app.settle()
    app.page.get_by_text("已保存").first.wait_for()


def test_a_county_goes_live_in_the_browser(empty_server, browser):  # noqa: F811
    base, engine = empty_server
    admin = App(browser, base)
    admin.login("chen.admin")

    admin.nav("网格与志愿者")
    g = form(admin, 0)
    g.get_by_label("编号", exact=True).fill("G01")
    g.get_by_label("名称", exact=True).fill("城东网格")
    g.get_by_label("县区", exact=True).fill("城关区")
    g.get_by_label("网格员", exact=True).fill("李四")
    g.get_by_label("电话", exact=True).fill("13800000000")
    save(admin, g)

    admin.nav("基础设置")
    m = form(admin, 0)
    m.get_by_label("编号", exact=True).fill("CD01")
    m.get_by_label("名称", exact=True).fill("城东农贸市场")
    m.get_by_label("县区", exact=True).fill("城关区")
    # 类型 (kind): 农贸市场 is the default
    choose(admin, m, "网格", "G01 · 城东网格")
    save(admin, m)
    for stall, name in (("A01", "张记蔬菜"), ("A02", "李记蔬菜")):
        v = form(admin, 1)
        v.get_by_label("摊位号", exact=True).fill(stall)
        v.get_by_label("名称", exact=True).fill(name)
        save(admin, v)
    admin.shot("county_setup")

    admin.nav("仪器与试剂盒")
    i = form(admin, 0)
    i.get_by_label("序列号", exact=True).fill("GR-0001")
    i.get_by_label("型号", exact=True).fill("金标读卡仪 GR-1")
    choose(admin, i, "类型", "胶体金读卡仪")
    i.get_by_label("驱动", exact=True).fill("profile:gold-reader")
    choose(admin, i, "市场", "CD01")
    save(admin, i)

    admin.nav("用户管理")
    for username, role in (("zhang.field", "现场检测员"), ("wang.boss", "管理人员")):
        u = admin.page.locator('[data-testid="stForm"]').first
        u.get_by_label("用户名", exact=True).fill(username)
        choose(admin, u, "角色", role)
        u.get_by_label("密码", exact=True).fill(PASSWORD)
        u.get_by_role("button", name="添加用户").click()
        admin.settle()
        admin.page.get_by_text("已完成,并记入审计日志").first.wait_for()
    admin.close()

    with Session(engine) as s:   # what the browser made, read back from the database
        market = s.exec(select(Market).where(Market.code == "CD01")).one()
        assert market.grid_group_id is not None
        assert sorted(v.stall for v in s.exec(select(Vendor).where(
            Vendor.market_id == market.id))) == ["A01", "A02"]
        assert {u.username for u in s.exec(select(User))} == {"chen.admin", "zhang.field",
                                                              "wang.boss"}

    tester = App(browser, base)
    tester.login("zhang.field")
    tester.heading("摊位快检")
    tester.page.get_by_text("速测卡(手工录入)").click()
    tester.settle()
    tester.page.get_by_text("白色,不变色").click()
    tester.page.get_by_role("button", name="记录结果").click()
    banner = tester.page.locator("[data-testid='verdict-banner']")
    banner.wait_for()
    tester.settle()
    assert banner.get_attribute("data-verdict") == "positive"
    tester.shot("county_field_test")
    tester.close()
    with Session(engine) as s:
        (result,) = s.exec(select(TestResult)).all()
        assert result.market_id == market.id and result.verdict == "positive"

    manager = App(browser, base)
    manager.login("wang.boss")
    manager.heading("合格率趋势")
    assert manager.page.get_by_text("无数据").count() == 0
    manager.shot("county_pass_rates")
    manager.close()

    board = App(browser, base, "board?market=CD01")
    board.page.get_by_text("城东农贸市场").first.wait_for()
    board.settle()
    assert board.page.get_by_text("阳性").count() >= 1
    assert board.page.get_by_text("Page not found").count() == 0   # /board is a page of its own
    board.shot("county_board")
    board.close()
