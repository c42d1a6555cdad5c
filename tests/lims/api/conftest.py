"""A real API server for the tests: uvicorn on a free loopback port, in a thread, on a migrated
database (SQLite file, or PostgreSQL for the tests that take the ``engine`` fixture), with a
small world: a grid group, two markets, vendors, an enzyme analyzer set up for ENZ-5009.199."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from sqlmodel import Session, select

from lims.api.app import create_app
from lims.api.tokens import create_token
from lims.models import GridGroup, Instrument, Market, Method, Vendor
from lims.security.auth import SYSTEM
from tests.conftest import TZ

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)
ANALYZER = "RP12-001"


def positive(**extra: Any) -> dict:
    """An enzyme-inhibition positive (80 %) at stall A01 of market M1."""
    item = {"method": "ENZ-5009.199", "tested_at": T0.isoformat(), "market": "M1",
            "vendor_stall": "A01", "commodity": "小白菜", "control_delta": 0.50,
            "sample_delta": 0.10}
    item.update(extra)
    return item


def seed(engine: sa.Engine) -> None:
    with Session(engine) as s:
        g = GridGroup(name="城东网格", county="城关区", staff=["李四"])
        s.add(g)
        s.flush()
        m1 = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers",
                    grid_group_id=g.id)
        m2 = Market(code="M2", name="城西农贸市场", county="城关区", kind="farmers")
        s.add_all([m1, m2])
        s.flush()
        s.add_all([Vendor(market_id=m1.id, stall="A01", name="张记", credit_grade="A"),
                   Vendor(market_id=m1.id, stall="A02", name="李记", credit_grade="B"),
                   Vendor(market_id=m2.id, stall="B01", name="王记", credit_grade="A")])
        enz = s.exec(select(Method.id).where(Method.code == "ENZ-5009.199")).one()
        s.add(Instrument(serial_no=ANALYZER, model="RP-12", kind="pesticide_analyzer",
                         driver="profile", profile="enzyme-12ch", market_id=m1.id,
                         method_id=enz))
        s.commit()


def token_for(engine: sa.Engine, station: str = "S1", role: str = "station") -> str:
    with Session(engine) as s:
        token, _info = create_token(session=s, actor=SYSTEM, station=station, role=role)
        s.commit()
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """A tiny urllib client for one server."""

    def __init__(self, base: str, token: str | None = None):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             token: str | None = "default", headers: dict[str, str] | None = None) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        h = {"Content-Type": "application/json"} if data is not None else {}
        tok = self.token if token == "default" else token
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return Reply(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
        except urllib.error.HTTPError as e:
            return Reply(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    def get(self, path: str, **kw) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> Reply:
        return self.call("POST", path, body, **kw)


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1, in a thread."""

    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@pytest.fixture
def serve() -> Iterator:
    """``serve(engine, **create_app_options) -> base URL``; servers stop after the test."""
    servers: list[LiveServer] = []

    def start(engine: sa.Engine, app=None, **options) -> str:
        srv = LiveServer(app or create_app(engine, **options)).start()
        servers.append(srv)
        return srv.url

    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture
def station(sqlite_engine, serve) -> Api:
    """A station's client of a server on a seeded SQLite database."""
    seed(sqlite_engine)
    return Api(serve(sqlite_engine), token_for(sqlite_engine))
