"""Changes go up too: corrections, voids, reviews, case steps, alert responses, teams, events and
patrols recorded on a station reach the central server (a real uvicorn API on loopback over a
real PostgreSQL database) through `lims sync push`, once each, after the results they refer to;
another station may not change them; a push killed half-way resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from lims.enforcement import alerts, cases
from lims.intake import corrections, review
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.models import (
    Alert,
    AuditEvent,
    CaseStep,
    EnforcementCase,
    Market,
    OutreachEvent,
    PatrolLog,
    StationChainHead,
    SyncChange,
    SyncPeer,
    SyncRefused,
    TestResult,
)
from lims.outreach import events, patrols
from lims.security.auth import SYSTEM
from lims.sync.http import Central
from lims.sync.pull import pull
from lims.sync.push import pending_change_count, push
from tests.lims.api.conftest import ANALYZER, T0, Api, token_for
from tests.lims.sync import test_sync as base
from tests.lims.sync.test_sync import LIMS, lims

pytestmark = pytest.mark.postgres
central, station = base.central, base.station   # the fixtures of the results' sync tests


def _reading(i: int, sample_delta: float, **extra) -> ReadingIn:
    return ReadingIn(method="ENZ-5009.199", tested_at=T0 + timedelta(minutes=i), market="M1",
                     vendor_stall="A01", commodity="小白菜",
                     raw={"control_delta": 0.5, "sample_delta": sample_delta},
                     source="manual", row=i, **extra)


def record_day(engine: sa.Engine) -> dict[str, str]:
    """Results and what happened to them on the station; returns name → ingest key."""
    with Session(engine) as s:
        rep = accept_readings(session=s, actor=SYSTEM, readings=[
            _reading(0, 0.10),                          # positive screen
            _reading(1, 0.45),                          # negative, corrected below
            _reading(2, 0.45),                          # negative, voided below
            _reading(3, 0.45, instrument_serial=ANALYZER, channel="1")])  # held: no calibration
        ids = [st.result_id for st in rep.stored]
        screen = s.get(TestResult, ids[0])
        code = rep.stored[0].sample_code
        # GB/T 5009.199: two re-tests confirm the positive; then the case and the alert open
        accept_readings(session=s, actor=SYSTEM, readings=[
            _reading(5 + i, 0.10, sample_code=code) for i in range(2)])
        s.commit()
        keys = dict(zip(("case", "corrected", "voided", "held"),
                        (s.get(TestResult, i).ingest_key for i in ids), strict=True))
        assert s.get(TestResult, ids[3]).status == "held"
        case = s.exec(select(EnforcementCase)
                      .where(EnforcementCase.sample_id == screen.sample_id)).one()
        alert = s.exec(select(Alert).join(TestResult, TestResult.id == Alert.result_id)
                       .where(TestResult.sample_id == screen.sample_id)).one()
        alerts.arrive(session=s, actor=SYSTEM, alert_id=alert.id, at=T0 + timedelta(minutes=8))
        cases.notify_vendor(session=s, actor=SYSTEM, case_id=case.id,
                            at=T0 + timedelta(minutes=10), note="告知摊主")
        cases.suspend_sale(session=s, actor=SYSTEM, case_id=case.id,
                           at=T0 + timedelta(minutes=12))
        corrections.correct_result(session=s, actor=SYSTEM, result_id=ids[1],
                                   raw={"sample_delta": 0.40}, reason="读数抄错")
        corrections.void_result(session=s, actor=SYSTEM, result_id=ids[2], reason="样品混淆")
        review.accept(session=s, actor=SYSTEM, result_id=ids[3], reason="当天已核查仪器")
        m1 = s.exec(select(Market.id).where(Market.code == "M1")).one()
        patrols.record_patrol(session=s, actor=SYSTEM, route="城东夜市", market_id=m1,
                              started_at=T0 + timedelta(hours=10), stalls_checked=12)
        team = events.create_team(session=s, actor=SYSTEM, name="城东志愿队")
        events.create_event(session=s, actor=SYSTEM, name="食品安全进社区", kind="community",
                            starts_at=T0 + timedelta(hours=2), team_ids=[team.id],
                            market_id=m1, people_served=40)
        s.commit()
    return keys


def state(engine: sa.Engine) -> dict:
    """What the central database shows, by natural keys."""
    with Session(engine) as s:
        results = {r.ingest_key: r for r in s.exec(select(TestResult))}
        case_of = {c.result_id: c for c in s.exec(select(EnforcementCase))}
        return {
            "results": {k: (r.status, r.verdict, r.raw.get("sample_delta"),
                            case_of[r.id].status if r.id in case_of else None)
                        for k, r in results.items()},
            "case": [(c.result_received_at, c.sale_suspended_at) for c in case_of.values()
                     if c.status == "open"],
            "arrived": [a.arrived_at for a in s.exec(select(Alert)) if a.arrived_at],
            "patrols": [(p.route, p.stalls_checked) for p in s.exec(select(PatrolLog))],
            "events": [(e.name, e.people_served) for e in s.exec(select(OutreachEvent))],
            "steps": s.exec(select(sa.func.count()).select_from(CaseStep)).one(),
            "audit": s.exec(select(sa.func.count()).select_from(AuditEvent)).one(),
            "changes": s.exec(select(sa.func.count()).select_from(SyncChange)).one(),
        }


def test_changes_reach_the_central_database_once_and_only_from_their_station(central, station):
    engine, url, token = central
    link = Central(url, token)
    with Session(station) as s:
        pull(session=s, actor=SYSTEM, central=link)
    keys = record_day(station)
    out = lims("push", "--to", url, "--json", env_token=token)
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    assert (rep["sent"], rep["stored"], rep["pending"]) == (6, 6, 0)
    # arrive, notify, suspend, correct, void, accept, patrol, team, event
    assert rep["changes"]["applied"] == 9 and rep["changes"]["skipped"] == 0
    assert rep["changes"]["pending"] == 0

    got = state(engine)
    r = got["results"]
    assert r[keys["case"]][:3] == ("recorded", "positive", 0.10)
    assert r[keys["corrected"]][2] == 0.40                       # corrected, re-judged there
    assert r[keys["voided"]][:2] == ("voided", "negative")
    assert r[keys["held"]][0] == "accepted"
    assert got["case"] == [(T0 + timedelta(minutes=10), T0 + timedelta(minutes=12))]
    assert got["arrived"] == [T0 + timedelta(minutes=8)]
    assert got["patrols"] == [("城东夜市", 12)]
    assert got["events"] == [("食品安全进社区", 40)]
    with Session(engine) as s:   # the services ran as the station: audited, with the reasons
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "result.correct")).one()
        assert (ev.actor, ev.reason) == ("station:station-east", "读数抄错")
    with Session(station) as s:  # the station's own state agrees
        local = {t.ingest_key: t.status for t in s.exec(select(TestResult))}
        head = s.exec(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc())
                      ).first()
    assert {k: v[0] for k, v in r.items()} == local
    with Session(engine) as s:   # the station's chain head is witnessed on the server
        kept = s.exec(select(StationChainHead).order_by(StationChainHead.id.desc())).first()
    assert (kept.station, kept.event_id, kept.hash) == ("station-east", *head)

    # pushed again, and again with the cursors lost (answers that never arrived): nothing twice
    with Session(station) as s:
        again = push(session=s, actor=SYSTEM, central=link).to_dict()
    assert (again["sent"], again["changes"]["sent"]) == (0, 0)
    with Session(station) as s:
        peer = s.exec(select(SyncPeer)).one()
        peer.last_pushed_result_id = peer.last_pushed_event_id = 0
        s.add(peer)
        s.commit()
        lost = push(session=s, actor=SYSTEM, central=link).to_dict()
    assert (lost["stored"], lost["duplicates"]) == (0, 6)
    assert (lost["changes"]["applied"], lost["changes"]["duplicates"]) == (0, 9)
    assert state(engine) == got

    # station B may not change station A's results: each refused with the reason (kept in
    # station B's list on the server), nothing of them stored
    other = Api(url, token_for(engine, station="station-west"))
    got = state(engine)
    reply = other.post("/api/v1/changes", {"changes": [
        {"id": 1, "action": "result.correct", "result": {"ingest_key": keys["corrected"]},
         "reason": "x", "data": {"raw": {"sample_delta": 0.1}}},
        {"id": 2, "action": "result.void", "result": {"ingest_key": keys["case"]},
         "reason": "不是我的"}]})
    assert reply.status == 200, reply.body
    assert (reply.json["applied"], reply.json["refused"]) == (0, 2)
    first = reply.json["changes"][0]
    assert (first["status"], first["field"]) == ("refused", "result.ingest_key")
    assert "station-west" in first["message"]
    assert state(engine) == got
    with Session(engine) as s:
        kept = s.exec(select(SyncRefused.event_id).where(SyncRefused.station == "station-west")
                      .order_by(SyncRefused.event_id)).all()
    assert kept == [1, 2]


def test_a_change_push_killed_half_way_resumes_without_doubling(central, station):
    engine, url, token = central
    link = Central(url, token)
    n = 120
    with Session(station) as s:
        pull(session=s, actor=SYSTEM, central=link)
        for i in range(n):
            patrols.record_patrol(session=s, actor=SYSTEM, route=f"夜市巡查 {i}",
                                  started_at=T0 + timedelta(minutes=i))
        s.commit()

    def applied() -> int:
        with engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(SyncChange)).scalar_one()

    env = {**os.environ, "STATION_TOKEN": token}
    proc = subprocess.Popen([str(LIMS), "sync", "push", "--to", url, "--token-env",
                             "STATION_TOKEN", "--batch", "3"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while applied() < 12:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the push did not get going"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    at_kill = applied()
    assert 12 <= at_kill < n, "the kill must land half-way"

    with Session(station) as s:
        assert 0 < pending_change_count(s) <= n - at_kill + 3
        ch = push(session=s, actor=SYSTEM, central=link).changes
    assert ch["pending"] == 0 and ch["sent"] == ch["applied"] + ch["duplicates"]
    assert ch["duplicates"] <= 3                       # at most the batch in flight at the kill
    with engine.connect() as c:
        routes = c.execute(sa.select(PatrolLog.__table__.c.route)).scalars().all()
    assert len(routes) == len(set(routes)) == n       # every patrol once
    assert applied() == n
