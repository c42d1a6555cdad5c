"""A field station and its central server, end to end: a real uvicorn API on loopback over a
real PostgreSQL central database, a SQLite station, and `lims sync` as a real process.

The station pulls places and instruments, records readings offline, and pushes; a push killed
with SIGKILL half-way and pushed again leaves the central counts exactly equal to the station's;
a refused batch stores nothing and does not move the cursor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import Conflict
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.masterdata import records
from lims.models import Instrument, Market, SyncPeer, TestResult, Vendor
from lims.security.auth import SYSTEM
from lims.sync.role import is_station, refuse_on_station
from tests.conftest import _ready_engine
from tests.lims.api.conftest import T0, seed, token_for

pytestmark = pytest.mark.postgres
LIMS = Path(sys.executable).parent / "lims"


@pytest.fixture
def central(pg_url, serve):
    """The central server: PostgreSQL with a small world, served by uvicorn; and its token."""
    engine = _ready_engine(pg_url)
    seed(engine)
    url = serve(engine)
    yield engine, url, token_for(engine, station="station-east")
    engine.dispose()


@pytest.fixture
def station(env_db, monkeypatch):
    engine = _ready_engine(env_db)
    yield engine
    engine.dispose()


def lims(*args: str, env_token: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STATION_TOKEN": env_token}
    return subprocess.run([str(LIMS), "sync", *args, "--token-env", "STATION_TOKEN"],
                          capture_output=True, text=True, env=env, timeout=300)


def record_offline(engine: sa.Engine, n: int) -> None:
    """n enzyme readings at stall A01 of M1: every 7th one positive."""
    readings = [ReadingIn(method="ENZ-5009.199", tested_at=T0 + timedelta(minutes=i),
                          market="M1", vendor_stall="A01", commodity="小白菜",
                          raw={"control_delta": 0.5,
                               "sample_delta": 0.1 if i % 7 == 0 else 0.45},
                          source="manual", row=i) for i in range(n)]
    with Session(engine) as s:
        accept_readings(session=s, actor=SYSTEM, readings=readings)
        s.commit()


def counts(engine: sa.Engine) -> dict[str, int]:
    t = TestResult.__table__.c
    with engine.connect() as c:
        return dict(c.execute(sa.select(t.verdict, sa.func.count()).group_by(t.verdict)).all())


def test_pull_brings_places_and_instruments_down_and_makes_a_station(central, station):
    _engine, url, token = central
    first = lims("pull", "--from", url, "--json", env_token=token)
    assert first.returncode == 0, first.stderr
    rep = json.loads(first.stdout)
    assert rep["created"] == {"markets": 2, "vendors": 3, "instruments": 1}
    assert rep["missing_methods"] == [] and rep["missing_thresholds"] == 0
    with Session(station) as s:
        assert {m.code for m in s.exec(select(Market))} == {"M1", "M2"}
        a02 = s.exec(select(Vendor).where(Vendor.stall == "A02")).one()
        assert (a02.name, a02.credit_grade) == ("李记", "B")
        inst = s.exec(select(Instrument)).one()
        assert (inst.serial_no, inst.profile) == ("RP12-001", "enzyme-12ch")
        assert is_station(s)
        with pytest.raises(Conflict, match="field station"):
            refuse_on_station(s, "market M3")
        with pytest.raises(Conflict, match="market M3: this database is a field station"):
            records.upsert_market(s, SYSTEM, {"code": "M3", "name": "新市场", "county": "城关区",
                                              "kind": "farmers"})
        with pytest.raises(Conflict, match="field station"):
            records.set_active(session=s, actor=SYSTEM, entity="vendor", id=a02.id,
                               active=False)
    again = json.loads(lims("pull", "--from", url, "--json", env_token=token).stdout)
    assert again["created"] == {"markets": 0, "vendors": 0, "instruments": 0}
    assert again["updated"] == {"markets": 0, "vendors": 0, "instruments": 0}


def test_a_wrong_token_or_an_unreachable_server_is_named(central, station):
    _engine, url, _token = central
    bad = lims("pull", "--from", url, env_token="lims_0_nonsense")
    assert bad.returncode == 2 and "401" in bad.stderr and url in bad.stderr
    dead = lims("pull", "--from", "http://127.0.0.1:9", env_token="x" * 20)
    assert dead.returncode == 2 and "cannot reach the central server" in dead.stderr


def test_push_killed_half_way_then_pushed_again_stores_everything_once(central, station):
    engine, url, token = central
    assert lims("pull", "--from", url, env_token=token).returncode == 0
    n = 600
    record_offline(station, n)
    env = {**os.environ, "STATION_TOKEN": token}
    proc = subprocess.Popen([str(LIMS), "sync", "push", "--to", url, "--token-env",
                             "STATION_TOKEN", "--batch", "20"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while sum(counts(engine).values()) < 100:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the push did not get going"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    at_kill = sum(counts(engine).values())
    assert 100 <= at_kill < n, "the kill must land half-way"
    with Session(station) as s:
        cursor = s.exec(select(SyncPeer.last_pushed_result_id)).one()
    assert cursor < n

    resumed = lims("push", "--to", url, "--json", env_token=token)
    assert resumed.returncode == 0, resumed.stderr
    rep = json.loads(resumed.stdout)
    assert rep["pending"] == 0
    # the batch in flight at the kill may still be committed by the server after the client
    # died: the push again finds it there ("duplicate"), so stored + already there covers it
    assert sum(counts(engine).values()) == n      # nothing lost …
    assert rep["sent"] == rep["stored"] + rep["duplicates"]
    assert rep["stored"] <= n - at_kill
    assert counts(engine) == counts(station)     # … nothing doubled, same verdicts
    assert counts(engine)["positive"] == len(range(0, n, 7))

    third = json.loads(lims("push", "--to", url, "--json", env_token=token).stdout)
    assert (third["sent"], third["stored"]) == (0, 0)
    status = subprocess.run([str(LIMS), "sync", "status", "--json"], capture_output=True,
                            text=True, timeout=60)
    assert json.loads(status.stdout)["pending"] == 0


def test_a_refused_batch_stores_nothing_and_keeps_the_cursor(central, station):
    engine, url, token = central
    assert lims("pull", "--from", url, env_token=token).returncode == 0
    record_offline(station, 3)
    with Session(station) as s:  # a stall the central server does not know
        m1 = s.exec(select(Market).where(Market.code == "M1")).one()
        s.add(Vendor(market_id=m1.id, stall="Z99", name="临时摊"))
        s.commit()
    with Session(station) as s:
        accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", tested_at=T0 + timedelta(hours=5), market="M1",
            vendor_stall="Z99", commodity="菠菜", raw={"control_delta": 0.5,
                                                     "sample_delta": 0.4})])
        s.commit()
        bad_id = s.exec(select(sa.func.max(TestResult.id))).one()
    before = sum(counts(engine).values())
    out = lims("push", "--to", url, env_token=token)
    assert out.returncode == 2
    assert f"result {bad_id}" in out.stderr and "Z99" in out.stderr
    assert sum(counts(engine).values()) == before
    with Session(station) as s:
        assert s.exec(select(SyncPeer.last_pushed_result_id)).one() == 0
