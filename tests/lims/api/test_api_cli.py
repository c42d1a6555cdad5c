"""`lims api …` end to end: token create (shown once, --json), list and revoke through the CLI,
and `lims api serve` in its own process on a free port: a station reads with the token, and
after the revoke gets 401."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lims.cli import app
from tests.lims.api.conftest import Api, free_port, seed

LIMS = str(Path(sys.executable).parent / "lims")


@pytest.fixture
def lims(sqlite_engine, env_db):
    """`lims …` on a migrated, seeded database; no user yet: the CLI acts as local admin."""
    seed(sqlite_engine)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def test_tokens_from_the_command_line_and_lims_api_serve(lims, env_db, monkeypatch):
    made = lims("api", "token", "create", "--station", "market-east", "--json")
    assert made.exit_code == 0, made.output
    token = json.loads(made.stdout)["token"]
    listed = lims("api", "token", "list", "--json")
    [row] = json.loads(listed.stdout)
    assert (row["station"], row["role"], row["active"]) == ("market-east", "station", True)
    assert token not in listed.stdout and token.startswith(f"lims_{row['id']}_")
    bad = lims("api", "token", "create", "--station", "x", "--role", "admin")
    assert bad.exit_code == 2 and "station, reader" in bad.output

    port = free_port()
    monkeypatch.setenv("LIMS_DATABASE_URL", env_db)
    server = subprocess.Popen([LIMS, "api", "serve", "--port", str(port), "--log-level",
                               "warning"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        api = Api(f"http://127.0.0.1:{port}", token)
        deadline = time.monotonic() + 120
        while True:
            try:
                if api.get("/api/v1/health", token=None).status == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "lims api serve did not answer"
            time.sleep(0.2)
        assert api.get("/api/v1/reference").status == 200
        revoked = lims("api", "token", "revoke", "market-east")
        assert revoked.exit_code == 0 and f"revoked {row['id']}" in revoked.stdout
        r = api.get("/api/v1/reference")
        assert r.status == 401 and "revoked" in r.json["error"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_refuses_a_database_that_is_not_initialised(env_db):
    r = CliRunner().invoke(app, ["api", "serve", "--port", str(free_port())])
    assert r.exit_code == 2 and "lims init" in r.output
