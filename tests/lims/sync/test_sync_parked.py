"""Calibration records go up before results; refused changes park and the push goes on; a retry
after the fix applies them. One real uvicorn API on loopback over a real PostgreSQL central
database and one SQLite station for the whole module (the tests run in order)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from lims.api.app import create_app
from lims.cli import app as cli
from lims.enforcement import confirmation
from lims.intake import corrections, review
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.lab import release
from lims.metrology import calibration
from lims.models import (
    AuditEvent,
    CalibrationRecord,
    CaseStep,
    EnforcementCase,
    EventService,
    Instrument,
    Market,
    Method,
    PatrolLog,
    SyncParked,
    SyncPeer,
    SyncRefused,
    TestResult,
    Volunteer,
)
from lims.models.enums import Role
from lims.outreach import events, patrols
from lims.security.auth import SYSTEM, Actor
from lims.sync.http import Central
from lims.sync.parked import list_parked, retry
from lims.sync.pull import pull
from lims.sync.push import push
from tests.conftest import _pg_database, _ready_engine
from tests.lims.api.conftest import ANALYZER, T0, LiveServer, seed, token_for
from tests.lims.metrology.calibration_data import ANALYZER as ANALYZER_READINGS

pytestmark = pytest.mark.postgres
TECH = Actor("wang.tech", Role.LAB_TECHNICIAN)
SECOND = "RP12-002"


@dataclass
class World:
    central: sa.Engine
    station: sa.Engine
    station_url: str
    link: Central


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    dbs = _pg_database()
    central = _ready_engine(next(dbs))
    seed(central)
    with Session(central) as s:   # a second analyzer, calibrated nowhere yet
        enz = s.exec(select(Method.id).where(Method.code == "ENZ-5009.199")).one()
        m1 = s.exec(select(Market.id).where(Market.code == "M1")).one()
        s.add(Instrument(serial_no=SECOND, model="RP-12", kind="pesticide_analyzer",
                         driver="profile", profile="enzyme-12ch", market_id=m1, method_id=enz))
        s.commit()
    srv = LiveServer(create_app(central)).start()
    url = f"sqlite:///{tmp_path_factory.mktemp('station') / 'station.sqlite3'}"
    station = _ready_engine(url)
    link = Central(srv.url, token_for(central, station="station-east"))
    with Session(station) as s:
        pull(session=s, actor=SYSTEM, central=link)
    yield World(central, station, url, link)
    srv.stop()
    station.dispose()
    central.dispose()
    dbs.close()


def _read(s: Session, serial: str, minutes: int) -> TestResult:
    rep = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", tested_at=T0 + timedelta(minutes=minutes), market="M1",
        vendor_stall="A01", commodity="小白菜", instrument_serial=serial, channel="1",
        raw={"control_delta": 0.5, "sample_delta": 0.45}, source="manual", row=0)])
    return s.get(TestResult, rep.stored[0].result_id)


def _status(engine: sa.Engine, key: str) -> str:
    with Session(engine) as s:
        return s.exec(select(TestResult.status).where(TestResult.ingest_key == key)).one()


def test_calibration_records_go_up_first_so_the_central_gate_agrees(world):
    with Session(world.station) as s:
        calibration.record(session=s, actor=TECH, serial_no=ANALYZER, kind="calibration",
                           readings=ANALYZER_READINGS, performed_at=T0 - timedelta(days=10))
        key = _read(s, ANALYZER, 0).ingest_key
        s.commit()
    assert _status(world.station, key) == "recorded"          # the station's gate passed it
    with Session(world.station) as s:
        rep = push(session=s, actor=SYSTEM, central=world.link)
    assert rep.calibrations["sent"] == rep.calibrations["stored"] == 1
    assert _status(world.central, key) == "recorded"          # so does the central gate
    with Session(world.central) as s:
        (rec,) = s.exec(select(CalibrationRecord)).all()
        assert (rec.kind, rec.outcome, rec.performed_at) == ("calibration", "pass",
                                                             T0 - timedelta(days=10))
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "calibration.record")).one()
        assert ev.actor == "station:station-east"

    with Session(world.station) as s:   # the cursor lost: stored once all the same
        peer = s.exec(select(SyncPeer)).one()
        peer.last_pushed_calibration_id = 0
        s.add(peer)
        s.commit()
        again = push(session=s, actor=SYSTEM, central=world.link)
    assert (again.calibrations["stored"], again.calibrations["duplicates"]) == (0, 1)
    with Session(world.central) as s:
        assert s.exec(select(sa.func.count()).select_from(CalibrationRecord)).one() == 1


def test_a_refused_change_parks_and_the_rest_goes_on_then_a_retry_applies_it(world, monkeypatch):
    with Session(world.station) as s:
        # held on the station (no calibration when read); calibrated afterwards for the time
        # before it, so the central gate, which gets the record first, does not hold it
        held = _read(s, SECOND, 60)
        assert held.status == "held"
        calibration.record(session=s, actor=TECH, serial_no=SECOND, kind="calibration",
                           readings=ANALYZER_READINGS, performed_at=T0 + timedelta(minutes=30))
        review.accept(session=s, actor=TECH, result_id=held.id, reason="仪器当天已核查")
        corrections.correct_result(session=s, actor=TECH, result_id=held.id,
                                   raw={"sample_delta": 0.40}, reason="读数抄错")
        # a market the central server does not know yet (its reference data lags)
        m9 = Market(code="M9", name="城南夜市", county="城关区", kind="night")
        s.add(m9)
        s.flush()
        patrols.record_patrol(session=s, actor=SYSTEM, route="城南夜市", market_id=m9.id,
                              started_at=T0 + timedelta(hours=10))
        patrols.record_patrol(session=s, actor=SYSTEM, route="城东夜市",
                              started_at=T0 + timedelta(hours=11))
        s.commit()
        key = held.ingest_key

    with Session(world.station) as s:   # one change per request: the station keeps the order
        rep = push(session=s, actor=SYSTEM, central=world.link, batch=1)
    ch = rep.changes
    assert (ch["applied"], ch["parked"], ch["parked_total"], ch["pending"]) == (1, 3, 3, 0)
    assert _status(world.central, key) == "recorded"     # neither accepted nor corrected there
    with Session(world.central) as s:
        assert s.exec(select(PatrolLog.route)).all() == ["城东夜市"]    # the next one applied
        refused = {r.action: r for r in s.exec(select(SyncRefused))}
    assert set(refused) == {"result.accept", "patrol.record"}    # the correction never left
    assert "not held" in refused["result.accept"].message
    assert refused["patrol.record"].field == "data.market"
    with Session(world.station) as s:
        parked = {p.action: p for p in list_parked(session=s)}
    assert set(parked) == {"result.accept", "result.correct", "patrol.record"}
    assert "not held" in parked["result.accept"].message
    assert "waits for parked change" in parked["result.correct"].message
    assert parked["result.correct"].result == key
    assert "M9" in parked["patrol.record"].message

    # the CLI shows them; the status counts them
    monkeypatch.setenv("LIMS_DATABASE_URL", world.station_url)
    out = CliRunner().invoke(cli, ["sync", "parked", "--json"])
    assert out.exit_code == 0, out.output
    assert sorted(p["action"] for p in json.loads(out.output)) == sorted(parked)
    out = CliRunner().invoke(cli, ["sync", "status", "--json"])
    assert json.loads(out.output)["parked"] == 3

    # the market is set up centrally; the patrol is retried and applied, the rest stays parked
    with Session(world.central) as s:
        s.add(Market(code="M9", name="城南夜市", county="城关区", kind="night"))
        s.commit()
    with Session(world.station) as s:
        retry(session=s, actor=SYSTEM, ids=[parked["patrol.record"].id])
        s.commit()
        again = push(session=s, actor=SYSTEM, central=world.link).changes
    assert (again["applied"], again["parked_total"]) == (1, 2)
    with Session(world.central) as s:
        assert sorted(s.exec(select(PatrolLog.route)).all()) == ["城东夜市", "城南夜市"]
        assert {r.action for r in s.exec(select(SyncRefused))} == {"result.accept"}

    # retrying all: the accept is refused again, the correction still waits behind it (the
    # server keeps the order inside a batch too); nothing applied out of order
    out = CliRunner().invoke(cli, ["sync", "retry", "--all"])
    assert out.exit_code == 0, out.output
    with Session(world.station) as s:
        last = push(session=s, actor=SYSTEM, central=world.link).changes
        assert s.exec(select(sa.func.count()).select_from(SyncParked)).one() == 2
        assert not any(p.retry for p in list_parked(session=s))
    assert (last["sent"], last["applied"], last["parked"]) == (2, 0, 2)
    assert _status(world.central, key) == "recorded"
    with Session(world.central) as s:
        waits = s.exec(select(SyncRefused).where(SyncRefused.action == "result.correct")).one()
    assert "waits for refused change" in waits.message


def test_a_confirmatory_lab_result_and_its_release_decide_the_central_case_too(world):
    def screen(s: Session, i: int, code: str | None = None) -> str:
        rep = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", tested_at=T0 + timedelta(hours=2, minutes=i), market="M1",
            vendor_stall="A02", commodity="小白菜", sample_code=code,
            raw={"control_delta": 0.5, "sample_delta": 0.10}, source="manual", row=i)])
        return rep.stored[0].sample_code

    with Session(world.station) as s:   # a positive screen, confirmed by two re-tests: a case
        code = screen(s, 0)
        screen(s, 1, code)
        screen(s, 2, code)
        case = s.exec(select(EnforcementCase).where(EnforcementCase.status == "open")).one()
        lab = confirmation.record_confirmatory(
            session=s, actor=TECH, case_id=case.id, method="LAB-GCMS", analyte="毒死蜱",
            value=2.0, tested_at=T0 + timedelta(days=1))
        release.release(session=s, actor=Actor("li.lab", Role.LAB_TECHNICIAN),
                        result_id=lab.result_id)
        s.commit()
        s.refresh(case)
        local = (case.outcome, s.get(TestResult, lab.result_id).status)
    assert local == ("confirmed", "accepted")
    with Session(world.station) as s:
        rep = push(session=s, actor=SYSTEM, central=world.link)
    assert rep.changes["parked"] == 0
    with Session(world.central) as s:   # linked as the screen's re-test, released, decided
        central_case = s.exec(select(EnforcementCase).where(EnforcementCase.status == "open")
                              ).one()
        labs = s.exec(select(TestResult.id, TestResult.status).where(
            TestResult.retest_of_id.is_not(None), TestResult.computed_unit == "mg/kg")).all()
        (step,) = s.exec(select(CaseStep).where(CaseStep.case_id == central_case.id,
                                                CaseStep.kind == "confirmatory_result")).all()
    assert (central_case.outcome, [st for _i, st in labs]) == ("confirmed", ["accepted"])
    # the case's timeline there shows the step too, made by the station's service actor
    assert (step.details["result_id"], step.at) == (labs[0][0], T0 + timedelta(days=1))
    assert (step.by, central_case.confirmatory_result_id) == ("station:station-east", labs[0][0])


def test_volunteers_service_hours_go_up_and_an_edit_follows(world):
    with Session(world.station) as s:
        team = events.create_team(session=s, actor=SYSTEM, name="城南志愿队")
        ev = events.create_event(session=s, actor=SYSTEM, name="食品安全宣传周", kind="community",
                                 starts_at=T0 + timedelta(days=1), team_ids=[team.id])
        v = events.add_volunteer(session=s, actor=SYSTEM, team_id=team.id, name="赵敏")
        events.record_service(session=s, actor=SYSTEM, event_id=ev.id, volunteer_id=v.id,
                              hours=3.5)
        s.commit()
        first = push(session=s, actor=SYSTEM, central=world.link).hours
        again = push(session=s, actor=SYSTEM, central=world.link).hours
        events.record_service(session=s, actor=SYSTEM, event_id=ev.id, volunteer_id=v.id,
                              hours=4.0)
        s.commit()
        edited = push(session=s, actor=SYSTEM, central=world.link).hours
    assert (first["sent"], first["stored"], again["sent"], edited["stored"]) == (1, 1, 0, 1)
    with Session(world.central) as s:
        rows = s.exec(select(Volunteer.name, EventService.hours).join(
            EventService, EventService.volunteer_id == Volunteer.id)).all()
    assert rows == [("赵敏", 4.0)]
