"""While a restore holds the database's maintenance lock the API answers 503 with Retry-After
(not 400), and a station's push stops there, keeps everything and goes through afterwards."""

from __future__ import annotations

import fcntl
import os
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.models import SyncPeer, TestResult
from lims.security.auth import SYSTEM
from lims.storage import maintenance
from lims.sync.http import Central
from lims.sync.pull import pull
from lims.sync.push import push
from tests.conftest import _ready_engine
from tests.lims.api.conftest import T0, Api, positive, seed, token_for


def _count(engine: sa.Engine) -> int:
    with engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(TestResult.__table__)).scalar_one()


def test_maintenance_answers_503_and_the_push_tries_later(sqlite_engine, serve, tmp_path,
                                                          monkeypatch):
    seed(sqlite_engine)
    url = serve(sqlite_engine)
    token = token_for(sqlite_engine)
    station = _ready_engine(f"sqlite:///{tmp_path / 'station.sqlite3'}")
    link = Central(url, token)
    with Session(station) as s:
        pull(session=s, actor=SYSTEM, central=link)
        accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", tested_at=T0 + timedelta(minutes=i), market="M1",
            vendor_stall="A01", commodity="小白菜",
            raw={"control_delta": 0.5, "sample_delta": 0.45}, source="manual", row=i)
            for i in range(3)])
        s.commit()

    # a restore announces itself on the intent lock: writers wait (here briefly), then refused
    monkeypatch.setattr(maintenance, "WAIT_SECONDS", 0.2)
    db = Path(sqlite_engine.url.database)
    fd = os.open(maintenance.intent_path(db), os.O_RDWR | os.O_CREAT, 0o664)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        reply = Api(url, token).post("/api/v1/readings", {"readings": [positive()]})
        assert reply.status == 503, reply.body
        assert reply.headers["retry-after"] == "30"
        assert "maintenance" in reply.json["error"] and "Traceback" not in reply.body.decode()
        with Session(station) as s:
            rep = push(session=s, actor=SYSTEM, central=link)
        assert rep.try_later == 30 and rep.sent == 0 and rep.pending == 3
        with Session(station) as s:
            assert s.exec(select(SyncPeer.last_pushed_result_id)).one() == 0
        assert _count(sqlite_engine) == 0
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    with Session(station) as s:   # the restore is over: everything goes up, once
        rep = push(session=s, actor=SYSTEM, central=link)
    assert rep.try_later is None and (rep.sent, rep.stored, rep.pending) == (3, 3, 0)
    assert _count(sqlite_engine) == 3
    station.dispose()
