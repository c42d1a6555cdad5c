"""Issue 18 (low): two processes importing the same file at once — each ends with a clear
message (stored, or "already present"), never a traceback, and every row is stored once."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from typer.testing import CliRunner

from lims.cli import app
from tests.lims.cli.conftest import add_places
from tests.lims.cli.test_results_cmd import results, row, write_csv

CTX = mp.get_context("spawn")


def _import(url: str, var: str, path: str, out) -> None:
    import os

    os.environ["LIMS_DATABASE_URL"] = url
    os.environ["LIMS_VAR_DIR"] = var
    from typer.testing import CliRunner

    from lims.cli import app

    r = CliRunner().invoke(app, ["results", "import", path])
    out.put((r.exit_code, r.output + (repr(r.exception) if r.exit_code not in (0, 1, 2)
                                      else "")))


@pytest.fixture
def shared_db(db_url, tmp_path, monkeypatch) -> str:
    """An initialised database with places, on SQLite and on PostgreSQL."""
    from lims.storage.engine import engine_for

    monkeypatch.setenv("LIMS_DATABASE_URL", db_url)
    monkeypatch.setenv("LIMS_VAR_DIR", str(tmp_path / "var"))
    for name in ("LIMS_USER", "LIMS_PASSWORD", "LIMS_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    engine_for.cache_clear()
    r = CliRunner().invoke(app, ["init"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    add_places(db_url)
    yield db_url
    engine_for.cache_clear()


def test_two_processes_import_the_same_file(shared_db, tmp_path):
    env_db = shared_db
    rows = [row(sample_code=f"CC-{i:04d}", channel=str(i % 12 + 1)) for i in range(40)]
    f = write_csv(tmp_path / "same.csv", rows)
    for attempt in range(3):
        out = CTX.Queue()
        procs = [CTX.Process(target=_import, args=(env_db, str(tmp_path / "var"), str(f), out))
                 for _ in range(2)]
        for p in procs:
            p.start()
        got = [out.get(timeout=240) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        for code, text in got:
            assert "Traceback" not in text and "NoResultFound" not in text, text
            assert code in (0, 2), text
        assert len(results(env_db)) == 40, (attempt, got)
