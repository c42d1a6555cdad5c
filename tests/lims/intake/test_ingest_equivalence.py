"""A batch's follow-up appends its audit events in one go (``audit.deferred``/``record_many``)
and grades its vendors in one metrics read: the stored state is what one event at a time gave,
and a batch ends where the same readings sent one by one end (SQLite: two database copies)."""

from collections import Counter
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from lims import timeutil
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import (
    Alert,
    AuditEvent,
    EnforcementCase,
    GridGroup,
    Instrument,
    Market,
    Sample,
    TestResult,
    Vendor,
)
from lims.security import audit
from tests.conftest import _ready_engine
from tests.lims.conftest import T0, TESTER

POS = {"control_delta": 0.40, "sample_delta": 0.10}   # 75 %: positive
SUS = {"control_delta": 0.40, "sample_delta": 0.22}   # 45 %: suspicious
NEG = {"control_delta": 0.40, "sample_delta": 0.35}   # 12.5 %: negative
STALLS = [("M1", "A01"), ("M1", "A02"), ("M1", "A03"), ("M2", "B01")]


def _seed(engine) -> None:
    with Session(engine) as s:
        g = GridGroup(name="城东网格", county="城关区", staff=["李四"])
        s.add(g)
        s.flush()
        for code in ("M1", "M2"):
            s.add(Market(code=code, name=f"市场{code}", county="城关区", kind="farmers",
                         grid_group_id=g.id))
        s.flush()
        for market, stall in STALLS:
            m = s.exec(select(Market).where(Market.code == market)).one()
            s.add(Vendor(market_id=m.id, stall=stall, name=stall, credit_grade="A"))
        s.add(Instrument(serial_no="SN-H", model="RP-12", kind="pesticide_analyzer",
                         driver="profile"))   # never calibrated: its results are held
        s.commit()


def _reading(raw, minutes, n, *, code=None, place=None, serial=None) -> ReadingIn:
    market, stall = place or (None, None)
    return ReadingIn(method="ENZ-5009.199", raw=dict(raw), tested_at=T0 + timedelta(minutes=minutes),
                     sample_code=code, market=market, vendor_stall=stall,
                     commodity="小白菜" if market else None, instrument_serial=serial,
                     channel="3" if serial else None, ingest_key=f"eq-{n}")


def _batches() -> list[list[ReadingIn]]:
    first, second, n = [], [], 0
    for i in range(24):
        place = STALLS[i % len(STALLS)]
        raw = (POS, SUS, NEG)[i % 3]
        code = f"EQ{i:04d}"
        first.append(_reading(raw, i, n, code=code, place=place,
                              serial="SN-H" if i % 7 == 6 else None))
        n += 1
        if raw is POS and i % 7 != 6:   # re-tests: two confirm, or one does not
            for k, again in enumerate((POS, POS) if i % 2 == 0 else (NEG,)):
                second.append(_reading(again, 60 + i + k, n, code=code))
                n += 1
    return [first, second]


def _ingest(engine, batches, *, one_by_one=False) -> None:
    for batch in batches:
        for part in ([[r] for r in batch] if one_by_one else [batch]):
            with Session(engine, expire_on_commit=False) as s:
                accept_readings(session=s, actor=TESTER, readings=part)
                s.commit()


def _dump(engine) -> dict[str, list[tuple]]:
    out = {}
    with engine.connect() as c:
        for table in SQLModel.metadata.sorted_tables:
            cols = [col for col in table.columns if col.name not in ("uuid", "seal")]
            out[table.name] = [tuple(r) for r in c.execute(
                sa.select(*cols).order_by(*table.primary_key.columns))]
    return out


class _Frozen(datetime):
    """``lims.timeutil.now`` stands still: both copies stamp the same times."""

    @classmethod
    def now(cls, tz=None):
        at = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)
        return at.astimezone(tz) if tz else at.replace(tzinfo=None)


@pytest.fixture
def two(tmp_path, monkeypatch):
    monkeypatch.setattr(timeutil, "datetime", _Frozen)
    engines = [_ready_engine(f"sqlite:///{tmp_path / f'{k}.sqlite3'}") for k in "ab"]
    for e in engines:
        _seed(e)
    yield engines
    for e in engines:
        e.dispose()


def test_deferred_audit_stores_what_one_event_at_a_time_did(two, monkeypatch):
    batched, single = two
    _ingest(batched, _batches())
    monkeypatch.setattr(audit, "deferred", lambda session: nullcontext())
    _ingest(single, _batches())
    a, b = _dump(batched), _dump(single)
    assert len(a["audit_event"]) > 30 and len(a["enforcement_case"]) >= 3
    for name in a:
        assert a[name] == b[name], name
    with Session(batched) as s:
        assert audit.verify(session=s).ok


def _state(engine) -> dict:
    with Session(engine) as s:
        results = {r.ingest_key: (r.verdict, r.status, r.calibration_state,
                                  s.get(Sample, r.sample_id).code)
                   for r in s.exec(select(TestResult))}
        key = {r.id: r.ingest_key for r in s.exec(select(TestResult))}
        samples = {m.code: (m.retest_state, m.retests_required) for m in s.exec(select(Sample))}
        cases = {key[c.result_id]: (c.opened_at, c.vendor_id, c.status)
                 for c in s.exec(select(EnforcementCase))}
        alerts = {key[a.result_id]: (a.level, a.raised_at, a.grid_group_id)
                  for a in s.exec(select(Alert))}
        grades = {v.stall: v.credit_grade for v in s.exec(select(Vendor))}
        # one seal event per transaction, and grades decided after every reading or once
        trail = [e for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))
                 if e.action not in ("result.seal", "vendor.grade")]
        events = Counter((e.action, e.entity) for e in trail)
        decided = sorted((e.entity_id, e.action, str(e.new), e.reason) for e in trail
                         if e.entity == "sample")
        assert audit.verify(session=s).ok
    return {"results": results, "samples": samples, "cases": cases, "alerts": alerts,
            "grades": grades, "events": events, "decided": decided}


def test_batch_ends_where_reading_by_reading_ends(two):
    batched, single = two
    _ingest(batched, _batches())
    _ingest(single, _batches(), one_by_one=True)
    a, b = _state(batched), _state(single)
    assert any(v[1] == "held" for v in a["results"].values())
    assert {st for st, _n in a["samples"].values()} >= {"confirmed", "not_confirmed"}
    assert a["cases"] and a["alerts"]
    assert a == b


def test_record_many_gives_the_rows_and_hashes_of_record(two):
    rows = []
    for engine, many in zip(two, (False, True), strict=True):
        with Session(engine) as s:
            args = [{"actor": TESTER, "action": "x.test", "entity": "thing", "entity_id": i,
                     "old": {"n": i}, "new": {"at": T0, "n": i + 1}, "reason": f"r{i}"}
                    for i in range(5)]
            if many:
                with audit.deferred(s):
                    for a in args:
                        audit.record(session=s, **a)
            else:
                for a in args:
                    audit.record(session=s, **a)
            s.commit()
            rows.append([(e.id, e.action, e.entity_id, e.old, e.new, e.reason, e.prev_hash,
                          e.hash) for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))])
            assert audit.verify(session=s).ok
    assert len(rows[0]) == 5 and rows[0] == rows[1]
