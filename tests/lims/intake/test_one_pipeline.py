"""Every way a reading enters goes through ``accept_readings``, and nothing else stores results
or sets their follow-up in motion: the same positive through each path opens the same case and
raises the same alert (once final), or waits for its re-tests the same way."""

from __future__ import annotations

import ast
from datetime import date, datetime

import pytest
from sqlmodel import Session, select

from instruments.profiles import ProfileSimulator, load_profile
from lims.field.stand import record_field_test
from lims.files.results_import import import_results
from lims.intake import retests
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import (
    Alert,
    CalibrationRecord,
    EnforcementCase,
    GridGroup,
    Instrument,
    Market,
    Method,
    TestResult,
    Vendor,
)
from lims.security.auth import SYSTEM, Actor
from lims.settings import PROJECT_ROOT
from lims.timeutil import local_tz
from tests.lims.listening.listener_helpers import (
    Pty,
    add_instrument,
    pump,
    running_listener,
    wait_for,
)

SN = "KJ12-0099"
TESTER = Actor("tester", "field_tester")


def _world(engine, retests: int | None = None) -> None:
    with Session(engine) as s:
        if retests is not None:   # the enzyme method's re-tests before a positive is final
            m = s.exec(select(Method).where(Method.code == "ENZ-5009.199")).one()
            m.params = {**m.params, "retests_for_positive": retests}
            s.add(m)
        g = GridGroup(name="城东网格", county="城关区", staff=["李四"])
        s.add(g)
        s.flush()
        m = Market(code="M-EAST", name="城东农贸市场", county="城关区", kind="farmers",
                   grid_group_id=g.id)
        s.add(m)
        s.flush()
        s.add(Vendor(market_id=m.id, stall="A01", name="张记", credit_grade="A"))
        s.commit()
    add_instrument(engine, SN)   # on market M-EAST
    calibrate(engine, SN)        # else its results are held and wait for review


def calibrate(engine, serial: str) -> None:
    """A passed verification, due long after the tests (so results are not held)."""
    with Session(engine) as s:
        inst = s.exec(select(Instrument).where(Instrument.serial_no == serial)).one()
        s.add(CalibrationRecord(instrument_id=inst.id, kind="verification",
                                performed_at=datetime(2020, 1, 1, tzinfo=local_tz()),
                                performed_by="tech", outcome="pass", due_date=date(2099, 12, 31)))
        s.commit()


def _at() -> datetime:
    return datetime(2026, 5, 6, 9, 30, tzinfo=local_tz())


def via_direct(engine, tmp_path) -> None:
    with Session(engine) as s:
        accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", raw={"control_delta": 0.40, "sample_delta": 0.10},
            tested_at=_at(), market="M-EAST", vendor_stall="A01", commodity="小白菜")])
        s.commit()


def via_import(engine, tmp_path) -> None:
    f = tmp_path / "in.csv"
    f.write_text("market,vendor_stall,commodity,method,tested_at,control_delta,sample_delta\n"
                 "M-EAST,A01,小白菜,ENZ-5009.199,2026-05-06T09:30:00,0.40,0.10\n",
                 encoding="utf-8")
    with Session(engine) as s:
        import_results(session=s, actor=SYSTEM, path=f)
        s.commit()


def via_field_test(engine, tmp_path) -> None:   # the field page and `lims field-test` call it
    with Session(engine) as s:
        record_field_test(session=s, actor=TESTER, commodity="小白菜", market="M-EAST",
                          vendor_stall="A01", method="ENZ-5009.199",
                          reading={"control_delta": 0.40, "sample_delta": 0.10},
                          tested_at=_at())
        s.commit()


def via_api(engine, tmp_path) -> None:
    from lims.api.app import create_app
    from tests.lims.api.conftest import Api, LiveServer, token_for

    srv = LiveServer(create_app(engine)).start()
    try:
        r = Api(srv.url, token_for(engine)).post("/api/v1/readings", {"readings": [{
            "method": "ENZ-5009.199", "tested_at": "2026-05-06T09:30:00+08:00",
            "market": "M-EAST", "vendor_stall": "A01", "commodity": "小白菜",
            "control_delta": 0.40, "sample_delta": 0.10}]})
        assert r.status == 200, r.body
    finally:
        srv.stop()


def via_listener(engine, tmp_path) -> None:
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=12, interval=0.05, seed=5,
                           serial=SN)
    pty = Pty()
    try:
        with running_listener(engine, SN, pty.path, tmp_path / "var") as lst:
            pump(sim, pty.master)
            wait_for(lambda: lst.proc.tally.results == 12)
    finally:
        pty.close()


def _follow_ups(engine) -> list[tuple]:
    """Per positive result: what its case and alert say, independent of the path."""
    with Session(engine) as s:
        out = []
        for r in s.exec(select(TestResult).where(TestResult.verdict == "positive")):
            case = s.exec(select(EnforcementCase).where(EnforcementCase.result_id == r.id)).one()
            alert = s.exec(select(Alert).where(Alert.result_id == r.id)).one()
            market = s.get(Market, r.market_id)
            out.append((case.status, case.objection_window_hours, alert.level,
                        alert.grid_group_id == market.grid_group_id, alert.target_minutes,
                        alert.market_id == r.market_id))
        return out


PATHS = [via_direct, via_import, via_field_test, via_api, via_listener]


@pytest.mark.parametrize("path", PATHS, ids=lambda f: f.__name__)
def test_a_positive_opens_the_same_case_and_alert_on_every_path(path, sqlite_engine, tmp_path):
    _world(sqlite_engine, retests=0)   # final at once (the re-tests: test_retests.py)
    path(sqlite_engine, tmp_path)
    got = _follow_ups(sqlite_engine)
    assert got, "the path must have stored a positive for this test to mean anything"
    assert set(got) == {("open", 4.0, "positive", True, 10.0, True)}


@pytest.mark.parametrize("path", PATHS, ids=lambda f: f.__name__)
def test_a_first_positive_waits_for_its_retests_on_every_path(path, sqlite_engine, tmp_path):
    _world(sqlite_engine)              # as shipped: GB/T 5009.199 re-tests a positive twice
    path(sqlite_engine, tmp_path)
    with Session(sqlite_engine) as s:
        positives = s.exec(select(TestResult).where(TestResult.verdict == "positive")).all()
        assert positives, "the path must have stored a positive for this test to mean anything"
        assert s.exec(select(EnforcementCase)).all() == []
        assert {a.level for a in s.exec(select(Alert))} <= {"suspicious"}
        for r in positives:
            st = retests.status(session=s, sample_id=r.sample_id)
            assert (st.state, st.remaining) == ("pending", 2)


def _calls(tree: ast.AST, name: str) -> list[int]:
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and (
        getattr(n.func, "id", None) == name or getattr(n.func, "attr", None) == name)]


def test_only_the_pipeline_stores_results_and_follows_them_up():
    """No module but the pipeline writes a TestResult or calls the follow-up."""
    allowed = {
        "TestResult": set(),                                   # rows come from storing only
        "insert_ids": {"lims/intake/pipeline.py", "lims/intake/storing.py"},
        "follow_up": {"lims/intake/pipeline.py", "lims/enforcement/followup.py"},
        "regrade_vendors_of": {"lims/intake/pipeline.py"},
    }
    found = []
    for path in sorted((PROJECT_ROOT / "lims").rglob("*.py")):
        rel = str(path.relative_to(PROJECT_ROOT))
        if rel.startswith("lims/bench/") or "/migrations/" in rel:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, ok in allowed.items():
            if rel not in ok:
                found += [f"{rel}:{line} calls {name}" for line in _calls(tree, name)]
    assert found == []
