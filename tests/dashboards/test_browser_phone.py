"""The alert inbox and the patrol log on a phone (issue 13): headless Chromium at 390 px wide
against `lims serve` on a demo database. Each page must be one column with no horizontal scroll
and large touch targets; a new alert must appear in the open inbox without a reload.
Screenshots go to tests/artifacts/ (phone_inbox.png, phone_patrols.png)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from lims.demo.loader import run_demo
from lims.field import stand
from lims.models import Alert, GridGroup, Market, PatrolLog, User, Vendor
from lims.security import users
from lims.security.auth import SYSTEM
from tests.conftest import PINNED_CLOCK, PINNED_DAY, _ready_engine
from tests.dashboards.live_app import lims_serve
from tests.dashboards.test_browser import PASSWORD, App

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
OFFICER = "zhao.grid"


@pytest.fixture(scope="module")
def phone_server(tmp_path_factory):
    """`lims serve` on a demo database with a grid officer (a manager with a grid group);
    yields (base URL, database URL)."""
    d = tmp_path_factory.mktemp("browser_phone")
    url = f"sqlite:///{d / 'lims.sqlite3'}"
    eng = _ready_engine(url)
    with Session(eng) as s:
        run_demo(session=s, actor=SYSTEM, markets_per_county=2, days=14, until=PINNED_DAY)
        users.add_user(session=s, actor=SYSTEM, username=OFFICER, role="manager",
                       password=PASSWORD)
        s.flush()
        group = s.exec(select(GridGroup).join(Market, Market.grid_group_id == GridGroup.id)
                       ).first()
        u = s.exec(select(User).where(User.username == OFFICER)).one()
        u.grid_group_id = group.id
        s.add(u)
        s.commit()
    eng.dispose()
    with lims_serve(d, url) as base:
        yield base, url


def on_phone(app: App, title: str) -> None:
    """Reach the page through the sidebar at desktop width (logged in), then shrink to 390 px."""
    app.nav(title)
    app.page.set_viewport_size(PHONE)
    app.page.wait_for_timeout(800)
    app.settle()


def assert_phone_layout(app: App, testid_pairs: list[tuple[str, str]]) -> None:
    """No horizontal scroll; each pair of widgets stacked (the second below the first, not
    beside it); every visible button at least 44 px high and inside the screen."""
    page = app.page
    widths = page.evaluate("() => [document.documentElement.scrollWidth, "
                           "document.documentElement.clientWidth, "
                           "document.querySelector('[data-testid=\"stMain\"]').scrollWidth]")
    assert widths[0] <= widths[1] <= PHONE["width"], widths
    assert widths[2] <= PHONE["width"], widths
    for first, second in testid_pairs:
        a = page.locator(f'[data-testid="stMain"] [data-testid="{first}"]').first.bounding_box()
        b = page.locator(f'[data-testid="stMain"] [data-testid="{second}"]').first.bounding_box()
        assert b["y"] >= a["y"] + a["height"] - 1, (first, second, a, b)
    buttons = page.locator('[data-testid="stMain"] [data-testid="stButton"] button:visible, '
                           '[data-testid="stMain"] [data-testid="stFormSubmitButton"] '
                           'button:visible')
    assert buttons.count() > 0
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box["height"] >= 44, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box


def test_inbox_on_a_phone_shows_new_alerts_without_reload(phone_server, browser):
    base, url = phone_server
    app = App(browser, base)
    app.login(OFFICER)
    on_phone(app, "预警待办")
    app.page.get_by_text("自动刷新").first.wait_for()
    # a positive at a market of the officer's grid group, stored while the page is open
    eng = _ready_engine(url)
    with Session(eng) as s:
        gid = s.exec(select(User.grid_group_id).where(User.username == OFFICER)).one()
        market = s.exec(select(Market).where(Market.grid_group_id == gid)).first()
        stall = s.exec(select(Vendor.stall).where(Vendor.market_id == market.id)).first()
        out = stand.record_field_test(session=s, actor=SYSTEM, commodity="韭菜",
                                      market=market.code, vendor_stall=stall,
                                      card_colour="unchanged",
                                      tested_at=datetime.fromisoformat(PINNED_CLOCK)
                                      - timedelta(minutes=3))
        s.commit()
    assert out.alert_id
    card = app.page.locator(f'[class*="st-key-inbox_card_{out.alert_id}"]')
    card.wait_for(timeout=45_000)          # the fragment refreshes every 15 s: no reload
    card.get_by_role("button", name="已到场").wait_for()   # the card drawn in full
    card.get_by_text("目标 10 分钟").wait_for()              # the clock against the target
    app.settle()
    assert out.sample_code in card.inner_text()
    assert_phone_layout(app, [("stSelectbox", "stProgress"), ("stProgress", "stButton")])
    assert card.bounding_box()["width"] >= 0.85 * PHONE["width"]   # one column: full width
    app.shot("phone_inbox")
    card.get_by_role("button", name="已到场").click()
    card.wait_for(state="detached", timeout=30_000)
    app.settle()
    with Session(eng) as s:
        a = s.get(Alert, out.alert_id)
        assert a.arrived_at is not None and a.arrived_by == OFFICER
    eng.dispose()
    app.close()


def test_patrol_log_on_a_phone(phone_server, browser):
    base, url = phone_server
    app = App(browser, base)
    app.login(OFFICER)
    on_phone(app, "夜市巡查")
    assert_phone_layout(app, [("stSelectbox", "stTextInput"), ("stDateInput", "stTimeInput"),
                              ("stNumberInput", "stTextArea")])
    app.page.get_by_label("巡查人员").fill("赵刚、钱丽")
    app.page.get_by_label("检查摊位数").fill("28")
    app.page.get_by_role("button", name="保存巡查记录").click()
    app.page.get_by_text("已保存").first.wait_for()
    app.settle()
    assert_phone_layout(app, [])
    app.shot("phone_patrols")
    eng = _ready_engine(url)
    with Session(eng) as s:
        p = s.exec(select(PatrolLog).where(PatrolLog.recorded_by == OFFICER)).one()
        assert p.staff == "赵刚、钱丽" and p.stalls_checked == 28
    eng.dispose()
    app.close()
