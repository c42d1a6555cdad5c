"""POST /api/v1/readings on a real server: stored through the intake pipeline with its case and
alert, all or nothing, future times and foreign methods refused, duplicates stored once."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session, func, select

from lims.models import Alert, EnforcementCase, Sample, TestResult
from lims.timeutil import now
from tests.lims.api.conftest import ANALYZER, T0, Api, positive, seed, token_for


def _count(engine, model=TestResult) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_a_positive_is_stored_with_its_case_and_alert(engine, serve):
    """On SQLite and on PostgreSQL."""
    seed(engine)
    api = Api(serve(engine), token_for(engine, "market-east"))
    # the screen and its two confirming re-tests (GB/T 5009.199): the case opens with them
    r = api.post("/api/v1/readings", {"readings": [positive(sample_code="KJ-API-0001")] + [
        positive(sample_code="KJ-API-0001", tested_at=(T0 + timedelta(minutes=m)).isoformat())
        for m in (20, 40)]})
    assert r.status == 200, r.body
    body = r.json
    assert (body["stored"], body["duplicates"]) == (3, 0)
    item = body["results"][0]
    assert item["status"] == "stored" and item["verdict"] == "positive"
    assert item["sample_code"] == "KJ-API-0001" and item["value"] == 80.0
    assert item["case_id"] and item["alert_id"]
    assert body["results"][1]["case_id"] is None   # one re-test does not confirm it yet
    assert body["results"][2]["case_id"] == item["case_id"]
    with Session(engine) as s:
        tr = s.get(TestResult, item["result_id"])
        assert (tr.source, tr.verdict) == ("api", "positive")
        assert s.get(Sample, tr.sample_id).code == "KJ-API-0001"
        case = s.get(EnforcementCase, item["case_id"])
        assert case.result_id == tr.id and case.opened_by == "station:market-east"
        assert s.get(Alert, item["alert_id"]).result_id == tr.id


def test_any_bad_item_refuses_the_batch_and_stores_nothing(station, sqlite_engine):
    batch = [positive(),                                        # good
             positive(market="NOPE"),                           # unknown market (pipeline)
             positive(vendor_stall="Z99"),                      # unknown stall (pipeline)
             positive(instrument="NO-SUCH-SN"),                 # unknown instrument (pipeline)
             positive(method="KJ-GOLD-CBF", t=0.5, c=1.0, instrument=ANALYZER,
                      control_delta=None, sample_delta=None),   # the analyzer runs enzyme tests
             positive(tested_at=(now() + timedelta(hours=2)).isoformat())]   # the future
    r = station.post("/api/v1/readings", {"readings": batch})
    assert r.status == 422, r.body
    errors = r.json["errors"]
    got = {(e["index"], e["field"]) for e in errors}
    assert got == {(1, "market"), (2, "vendor_stall"), (3, "instrument"), (4, "method"),
                   (5, "tested_at")}
    by_index = {e["index"]: e["message"] for e in errors}
    assert "NOPE" in by_index[1] and "Z99" in by_index[2]
    assert ANALYZER in by_index[4] and "enzyme_inhibition" in by_index[4]
    assert "30 minutes" in by_index[5] and "clock" in by_index[5]
    assert "nothing was stored" in r.json["error"]
    assert _count(sqlite_engine) == 0 and _count(sqlite_engine, Sample) == 0


def test_schema_errors_name_the_index_and_field(station, sqlite_engine):
    batch = [positive(), positive(control_delta="abc"), {"method": "ENZ-5009.199"},
             positive(colour_of_sky="blue")]
    r = station.post("/api/v1/readings", {"readings": batch})
    assert r.status == 422, r.body
    got = {(e["index"], e["field"]) for e in r.json["errors"]}
    assert got == {(1, "control_delta"), (2, "tested_at"), (3, "colour_of_sky")}
    assert _count(sqlite_engine) == 0
    r = station.post("/api/v1/readings", {"rows": []})
    assert r.status == 422 and r.json["errors"][0]["field"] in ("readings", "rows")


def test_the_future_tolerance_is_a_setting(station, sqlite_engine, monkeypatch):
    soon = (now() + timedelta(minutes=20)).isoformat()
    monkeypatch.setenv("LIMS_FUTURE_TOLERANCE_MINUTES", "10")
    r = station.post("/api/v1/readings", {"readings": [positive(tested_at=soon)]})
    assert r.status == 422
    message = r.json["errors"][0]["message"]
    assert "10 minutes" in message and "LIMS_FUTURE_TOLERANCE_MINUTES" in message
    assert "instrument clocks drift" in message
    monkeypatch.delenv("LIMS_FUTURE_TOLERANCE_MINUTES")   # default: 30 minutes
    r = station.post("/api/v1/readings", {"readings": [positive(tested_at=soon)]})
    assert r.status == 200, r.body
    assert _count(sqlite_engine) == 1


def test_a_duplicate_answers_duplicate_and_stores_nothing(station, sqlite_engine):
    card = positive(sample_code="KJ-DUP-1", method="ENZ-CARD", colour="unchanged",
                    control_delta=None, sample_delta=None)   # a card positive: no re-test
    first = station.post("/api/v1/readings", {"readings": [card]})
    assert first.status == 200
    again = station.post("/api/v1/readings", {"readings": [card, dict(card)]})
    assert again.status == 200, again.body
    assert (again.json["stored"], again.json["duplicates"]) == (0, 2)
    for item in again.json["results"]:
        assert item["status"] == "duplicate"
        assert item["result_id"] == first.json["results"][0]["result_id"]
        assert item["case_id"] == first.json["results"][0]["case_id"]
    assert _count(sqlite_engine) == 1 and _count(sqlite_engine, EnforcementCase) == 1


def test_local_time_without_offset_and_the_instruments_own_method(station, sqlite_engine):
    r = station.post("/api/v1/readings", {"readings": [
        positive(tested_at="2026-05-06T10:15:00", instrument=ANALYZER, channel="3",
                 sample_delta=0.45, instrument_verdict="阴性")]})
    assert r.status == 200, r.body
    item = r.json["results"][0]
    assert item["verdict"] == "negative" and item["result_status"] == "held"   # never calibrated
    with Session(sqlite_engine) as s:
        tr = s.get(TestResult, item["result_id"])
        assert tr.tested_at == T0 + timedelta(minutes=45)     # 10:15 in LIMS_TIMEZONE
        assert tr.channel == "3"


def test_values_the_database_cannot_hold_are_refused(station, sqlite_engine):
    body = json.dumps({"readings": [
        positive(sample_code="no spaces allowed"), positive(channel="C" * 11),
        positive(sample_delta=123.0)]}).replace("123.0", "1e400")   # JSON, but not a float
    r = station.post("/api/v1/readings", raw=body.encode())
    assert r.status == 422, r.body
    got = {(e["index"], e["field"]) for e in r.json["errors"]}
    assert got == {(0, "sample_code"), (1, "channel"), (2, "sample_delta")}
    assert _count(sqlite_engine) == 0
