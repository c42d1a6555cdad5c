"""Shared fixtures: fresh databases on SQLite and on a real PostgreSQL server.

PostgreSQL tests use LIMS_TEST_POSTGRES_URL (set by .ci/run). Locally they are skipped when it is
unset; with LIMS_REQUIRE_POSTGRES=1 (CI) a missing server fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from lims.reference.loader import load_reference_data
from lims.settings import SETTINGS
from lims.storage.engine import make_engine
from lims.storage.schema import upgrade

PG_URL = os.environ.get("LIMS_TEST_POSTGRES_URL")

#: The instant the app's tests pin the clock at (LIMS_CLOCK), and the last day of their data:
#: a page's "today", "this month" and default period never depend on the day the suite runs.
PINNED_CLOCK = "2026-05-20T18:00:00+08:00"
PINNED_DAY = date(2026, 5, 20)
#: The zone the tests' data is written in (the default of LIMS_TIMEZONE). A fixed zone, not the
#: setting: pinned timestamps in tests use it.
TZ = ZoneInfo(next(s.default for s in SETTINGS if s.name == "LIMS_TIMEZONE"))
REQUIRE_PG = os.environ.get("LIMS_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session", autouse=True)
def _pinned_timezone() -> Iterator[None]:
    """LIMS_TIMEZONE = TZ for the whole run (session fixtures that seed data included): the
    tests' dates never depend on a developer's own setting. Tests about the setting override it
    with monkeypatch."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIMS_TIMEZONE", TZ.key)
        yield


def _deselect_browser_tests(config, items) -> None:
    """Browser tests need headless Chromium (LIMS_CHROMIUM, default /usr/bin/chromium): without
    it they are deselected, unless LIMS_REQUIRE_BROWSER=1 (CI), which makes that an error."""
    chromium = os.environ.get("LIMS_CHROMIUM", "/usr/bin/chromium")
    if os.path.exists(chromium):
        return
    if os.environ.get("LIMS_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"LIMS_REQUIRE_BROWSER=1 but Chromium is missing at {chromium}")
    browser = [i for i in items if "browser" in i.keywords]
    if browser:
        config.hook.pytest_deselected(items=browser)
        items[:] = [i for i in items if "browser" not in i.keywords]


def pytest_collection_modifyitems(config, items):
    _deselect_browser_tests(config, items)
    if PG_URL:
        return
    if REQUIRE_PG:
        raise pytest.UsageError("LIMS_REQUIRE_POSTGRES=1 but LIMS_TEST_POSTGRES_URL is unset")
    mark = pytest.mark.skip(reason="LIMS_TEST_POSTGRES_URL unset (PostgreSQL tests run in CI)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(mark)


def _pg_database() -> Iterator[str]:
    """Create a throw-away database on the test server; drop it afterwards."""
    assert PG_URL
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"lims_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'lims.sqlite3'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:  # only reached when the test is not marked postgres
        raise RuntimeError("mark the test with @pytest.mark.postgres")
    yield from _pg_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """Each test using it runs twice: on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lims.sqlite3'}"
    else:
        yield from _pg_database()


def _migrate_and_load(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        load_reference_data(session=s)
        s.commit()
    engine.dispose()


#: Migrated databases with reference data, built once per run and copied for each test (a file
#: copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL): the same state as migrating each
#: fresh database, in milliseconds instead of a second.
_TEMPLATES: dict[str, str] = {}


def _sqlite_template() -> str:
    if "sqlite" not in _TEMPLATES:
        folder = tempfile.mkdtemp(prefix="lims-template-")
        path = os.path.join(folder, "template.sqlite3")
        _migrate_and_load(f"sqlite:///{path}")   # WAL checkpointed when the last connection closes
        _TEMPLATES["sqlite"] = path
    return _TEMPLATES["sqlite"]


def _pg_template(admin: sa.Engine) -> str:
    if "postgres" not in _TEMPLATES:
        name = f"lims_template_{uuid.uuid4().hex[:12]}"
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        _migrate_and_load(sa.engine.make_url(PG_URL).set(database=name)
                          .render_as_string(hide_password=False))
        _TEMPLATES["postgres"] = name
    return _TEMPLATES["postgres"]


def pytest_sessionfinish(session, exitstatus):
    name = _TEMPLATES.pop("postgres", None)
    if name and PG_URL:
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _ready_engine(url: str) -> sa.Engine:
    """An engine on ``url`` migrated to the latest revision with reference data loaded: a copy of
    the run's template when ``url`` names a new SQLite file or a fresh test database on the
    PostgreSQL test server, else migrated in place."""
    u = sa.engine.make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and not os.path.exists(u.database):
        shutil.copyfile(_sqlite_template(), u.database)
    elif (u.get_backend_name() == "postgresql" and PG_URL and u.database
          and u.database.startswith("lims_test_")):
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        template = _pg_template(admin)
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{u.database}" TEMPLATE "{template}"'))
        admin.dispose()
    else:
        _migrate_and_load(url)
    return make_engine(url)


@pytest.fixture
def engine(db_url) -> Iterator[sa.Engine]:
    """A migrated database with reference data, on SQLite and on PostgreSQL."""
    eng = _ready_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url) -> Iterator[sa.Engine]:
    """A migrated SQLite database with reference data (for tests that need only one backend)."""
    eng = _ready_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def env_db(monkeypatch, sqlite_url, tmp_path) -> str:
    """Point LIMS_DATABASE_URL/LIMS_VAR_DIR at a fresh SQLite file for CLI tests."""
    monkeypatch.setenv("LIMS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LIMS_VAR_DIR", str(tmp_path / "var"))
    # no users yet: the CLI acts as local admin (docs/security.md); a developer's own
    # credentials or admin password must not leak into the tests
    for name in ("LIMS_USER", "LIMS_PASSWORD", "LIMS_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    from lims.storage.engine import engine_for

    engine_for.cache_clear()
    return sqlite_url
