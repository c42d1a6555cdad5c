"""Fixtures for the app's tests: SQLite databases (empty, one market, demo) built once per run
and copied for each test, and a helper that runs one page of the app with AppTest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from lims.models.enums import Role
from lims.security.auth import Actor
from lims.storage.engine import engine_for
from tests.conftest import PINNED_CLOCK, PINNED_DAY, _ready_engine
from tests.dashboards import seed

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
KINDS = ("empty", "one_market", "demo")


@pytest.fixture(scope="session")
def templates(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("dash_templates")
    out = {}
    for kind in KINDS:
        path = base / f"{kind}.sqlite3"
        eng = _ready_engine(f"sqlite:///{path}")
        with Session(eng, expire_on_commit=False) as s:
            if kind == "one_market":
                seed.one_market(s)
            elif kind == "demo":
                info = seed.small_demo(s, until=PINNED_DAY)
                (base / "demo.code").write_text(info["positive_code"])
            if kind == "demo":
                mark_demo(s)   # as `lims demo` does: the app offers its demo mode
            s.commit()
        eng.dispose()
        out[kind] = path
    return out


@pytest.fixture
def use_db(templates, tmp_path, monkeypatch):
    """``use_db(kind)`` points the app at a fresh copy of that database; returns its URL."""

    def _use(kind: str) -> str:
        path = tmp_path / f"{kind}.sqlite3"
        shutil.copy(templates[kind], path)
        url = f"sqlite:///{path}"
        monkeypatch.setenv("LIMS_DATABASE_URL", url)
        monkeypatch.setenv("LIMS_VAR_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("LIMS_LANG", "zh")
        monkeypatch.setenv("LIMS_CLOCK", PINNED_CLOCK)   # the data ends on PINNED_DAY
        engine_for.cache_clear()
        return url

    yield _use
    engine_for.cache_clear()


@pytest.fixture
def demo_code(templates) -> str:
    return (templates["demo"].parent / "demo.code").read_text()


PASSWORD = "Correct-Horse-42-Battery"


def login_token(role: Role) -> str:
    """A real app session of the account ``test-<role>`` (made on first use) in the database
    LIMS_DATABASE_URL points at: pages run behind the real login, as in production."""
    from sqlmodel import select

    from lims.models import User
    from lims.security import sessions, users
    from lims.security.auth import SYSTEM
    from lims.storage.engine import get_engine

    name = f"test-{role.value}"
    with Session(get_engine()) as s:
        if s.exec(select(User).where(User.username == name)).first() is None:
            users.add_user(session=s, actor=SYSTEM, username=name, role=role, password=PASSWORD)
        token = sessions.create_session(session=s, actor=Actor(name, role))
        s.commit()
    import streamlit as st

    st.cache_data.clear()   # the app's cached user count (demo mode) must see the new account
    return token


def mark_demo(s: Session) -> None:
    """Record the ``demo.load`` audit event ``lims demo`` leaves: the database is a demo one."""
    from lims.security import audit
    from lims.security.auth import SYSTEM

    audit.record(session=s, actor=SYSTEM, action="demo.load", entity="database",
                 entity_id="demo", new={"test": True})


def run_page(page: str | None, role: Role | None = Role.ADMIN, lang: str = "zh",
             state: dict | None = None) -> AppTest:
    """Run the app at ``page`` (a file in dashboards/views, None = the default page) as ``role``,
    logged in with a real account of that role (``login_token``)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = None
    if role is not None:
        at.session_state["auth_token"] = login_token(role)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    if page:
        at.switch_page(f"views/{page}.py")
    at.run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# -- the browser tests' app and browser, built once for the whole run ---------------------------
# (module-scoped, every module that used them rebuilt the demo and restarted `lims serve`)

@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """`lims serve` on a demo database with one user per role (tests/dashboards/test_browser.py)."""
    from lims.demo.loader import run_demo
    from lims.security import users
    from lims.security.auth import SYSTEM
    from tests.dashboards.live_app import lims_serve
    from tests.dashboards.test_browser import PASSWORD, USERS

    d = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{d / 'lims.sqlite3'}"
    eng = _ready_engine(url)
    with Session(eng) as s:
        run_demo(session=s, actor=SYSTEM, markets_per_county=2, days=28, until=PINNED_DAY)
        for name, role in USERS.items():
            users.add_user(session=s, actor=SYSTEM, username=name, role=role, password=PASSWORD)
        s.commit()
    eng.dispose()
    with lims_serve(d, url) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.dashboards.test_browser import ARGS, CHROMIUM

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


