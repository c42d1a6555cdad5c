"""Limits and failures on a real server: body size (413), rate per token (429 + Retry-After),
bad JSON (400 with line and column), no stack trace in a 500."""

from __future__ import annotations

import json
import logging

from sqlmodel import Session, func, select

from lims.api.app import create_app
from lims.models import TestResult
from tests.lims.api.conftest import Api, positive, seed, token_for


def test_a_body_over_the_limit_gets_413_and_nothing_is_stored(station, sqlite_engine):
    big = {"readings": [positive(tested_by="x" * 90) for _ in range(6000)]}
    raw = json.dumps(big).encode()
    assert len(raw) > 1_000_000
    r = station.post("/api/v1/readings", raw=raw)
    assert r.status == 413 and "larger than 1000000 bytes" in r.json["error"]
    with Session(sqlite_engine) as s:
        assert s.exec(select(func.count()).select_from(TestResult)).one() == 0
    assert station.get("/api/v1/health").status == 200   # the server is fine


def test_bad_json_gets_400_naming_line_and_column(station):
    raw = b'{"readings": [\n  {"method": "ENZ-5009.199",}\n]}'
    r = station.post("/api/v1/readings", raw=raw)
    assert r.status == 400, r.body
    assert (r.json["line"], r.json["column"]) == (2, 29)
    assert "line 2, column 29" in r.json["error"]
    r = station.post("/api/v1/readings", raw=b'{"readings": [{"t": NaN}]}')
    assert r.status == 400 and "NaN" in r.json["error"]
    r = station.post("/api/v1/readings", raw=b"\xff\xfe{}")
    assert r.status == 400 and "UTF-8" in r.json["error"]
    r = station.post("/api/v1/readings", raw=b"method=ENZ",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415


def test_the_rate_limit_is_per_token(sqlite_engine, serve):
    seed(sqlite_engine)
    base = serve(sqlite_engine, rate_per_minute=6, burst=3)
    a, b = Api(base, token_for(sqlite_engine, "A")), Api(base, token_for(sqlite_engine, "B"))
    assert [a.get("/api/v1/reference").status for _ in range(3)] == [200, 200, 200]
    r = a.get("/api/v1/reference")
    assert r.status == 429, r.body
    assert int(r.headers["retry-after"]) in range(1, 11)
    assert r.json["retry_after"] == int(r.headers["retry-after"])
    assert b.get("/api/v1/reference").status == 200     # B has its own bucket
    assert a.get("/api/v1/health").status == 200        # no token, no bucket


def test_a_crash_answers_500_with_an_error_id_and_no_trace(sqlite_engine, serve, caplog):
    seed(sqlite_engine)
    app = create_app(sqlite_engine)

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret detail from deep inside")

    api = Api(serve(sqlite_engine, app=app), token_for(sqlite_engine))
    with caplog.at_level(logging.ERROR, logger="lims.api"):
        r = api.get("/api/v1/boom")
    assert r.status == 500
    text = r.body.decode()
    assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
    error_id = r.json["error_id"]
    assert any(error_id in rec.getMessage() and rec.exc_info for rec in caplog.records)
