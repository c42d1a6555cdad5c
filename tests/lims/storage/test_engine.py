"""The SQLite engine's connection settings: WAL, full sync, foreign keys, the page cache."""

from __future__ import annotations

import pytest

from lims.errors import ConfigError
from lims.storage.engine import make_engine


def _pragma(engine, name: str):
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()


def test_sqlite_connections_get_the_configured_page_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("LIMS_SQLITE_CACHE_MB", raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    assert _pragma(engine, "cache_size") == -64 * 1024      # the default, 64 MB in KiB
    assert _pragma(engine, "journal_mode") == "wal"
    assert _pragma(engine, "synchronous") == 2             # FULL
    assert _pragma(engine, "foreign_keys") == 1
    engine.dispose()

    monkeypatch.setenv("LIMS_SQLITE_CACHE_MB", "256")
    engine = make_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    assert _pragma(engine, "cache_size") == -256 * 1024
    engine.dispose()


@pytest.mark.parametrize("value", ["1", "lots", "-5", "2.5"])
def test_a_cache_setting_that_cannot_work_is_refused_by_name(tmp_path, monkeypatch, value):
    monkeypatch.setenv("LIMS_SQLITE_CACHE_MB", value)
    with pytest.raises(ConfigError, match=r"LIMS_SQLITE_CACHE_MB .*" + repr(value).replace(".", r"\.")):
        make_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}")
