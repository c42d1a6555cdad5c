"""The ingest service on SQLite and PostgreSQL: verdicts, mismatch flags, the gate, idempotency."""

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from lims.errors import ValidationFailed
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import CalibrationRecord, Instrument, Market, Sample, TestResult, Vendor
from lims.security.auth import SYSTEM
from tests.conftest import TZ

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)


@pytest.fixture
def market(session):
    m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
    session.add(m)
    session.flush()
    session.add(Vendor(market_id=m.id, stall="A01", name="张三"))
    inst = Instrument(serial_no="SN-1", model="RP-12", kind="pesticide_analyzer", driver="profile")
    session.add(inst)
    session.flush()
    session.add(CalibrationRecord(instrument_id=inst.id, kind="verification",
                                  performed_at=T0 - timedelta(days=200), performed_by="tech",
                                  outcome="pass", due_date=date(2026, 6, 1)))
    session.commit()
    return m


def enzyme(a0, at, **kw):
    base = {"method": "ENZ-5009.199", "raw": {"control_delta": a0, "sample_delta": at},
                "tested_at": T0, "market": "M1", "vendor_stall": "A01", "commodity": "小白菜"}
    base.update(kw)
    return ReadingIn(**base)


def test_ingest_recomputes_and_flags_disagreement(session, market):
    rep = accept_readings(session=session, actor=SYSTEM, readings=[
        enzyme(0.303, 0.131, instrument_serial="SN-1", instrument_verdict="阴性", channel="3"),
    ])
    session.commit()
    (s,) = rep.stored
    assert s.verdict.outcome.value == "positive"
    assert s.mismatch is True
    tr = session.exec(select(TestResult)).one()
    assert tr.verdict == "positive" and tr.instrument_verdict == "negative"
    assert tr.verdict_mismatch and tr.computed_value == pytest.approx(56.77)
    assert tr.raw == {"control_delta": 0.303, "sample_delta": 0.131}
    assert tr.calibration_state == "ok" and tr.status == "recorded"
    assert tr.week_start == date(2026, 5, 4) and tr.local_date == date(2026, 5, 6)
    assert tr.tested_at == T0
    sample = session.get(Sample, tr.sample_id)
    assert len(sample.code) == 8 and sample.vendor_id is not None


def test_same_reading_twice_is_stored_once(session, market):
    r = enzyme(0.35, 0.30, instrument_serial="SN-1", ingest_key="msg-1")
    accept_readings(session=session, actor=SYSTEM, readings=[r])
    session.commit()
    rep = accept_readings(session=session, actor=SYSTEM, readings=[r, enzyme(0.35, 0.30, ingest_key="msg-1")])
    session.commit()
    assert rep.duplicates == 2 and rep.created == 0
    assert len(session.exec(select(TestResult)).all()) == 1


def test_overdue_instrument_is_held(session, market):
    late = T0.replace(month=7)
    rep = accept_readings(session=session, actor=SYSTEM, readings=[enzyme(0.35, 0.1, instrument_serial="SN-1",
                                                    tested_at=late)])
    assert rep.stored[0].status == "held"
    assert rep.stored[0].calibration_state == "overdue"


def test_bad_batch_writes_nothing_and_names_every_row(session, market):
    readings = [
        enzyme(0.35, 0.30, row=2),
        enzyme(0.35, 0.30, row=3, commodity="dragonfruit"),
        enzyme(0.35, 0.30, row=4, method="NOPE", market="M9"),
    ]
    with pytest.raises(ValidationFailed) as ei:
        accept_readings(session=session, actor=SYSTEM, readings=readings)
    session.rollback()
    rows = {(e.row, e.field) for e in ei.value.errors}
    assert rows == {(3, "commodity"), (4, "method"), (4, "market")}
    assert session.exec(select(TestResult)).all() == []
    assert "dragonfruit" in str(ei.value)


def test_quantitative_uses_the_edition_in_force(session, market):
    rep = accept_readings(session=session, actor=SYSTEM, readings=[
        ReadingIn(method="LAB-GCMS", raw={"value": 1.0}, tested_at=T0, market="M1",
                  commodity="韭菜", analyte="腐霉利"),
        ReadingIn(method="LAB-GCMS", raw={"value": 1.0}, tested_at=T0.replace(year=2022),
                  market="M1", commodity="韭菜", analyte="腐霉利"),
    ])
    by_year = {s.verdict.threshold["standard"]: s.verdict.outcome.value for s in rep.stored}
    assert by_year == {"GB 2763.1-2022": "compliant", "GB 2763-2021": "noncompliant"}


def test_new_samples_get_time_ordered_uuids(session, market):
    """Sample UUIDs are version 7 (RFC 9562): later samples sort after earlier ones, so new keys
    land at the end of the unique index rather than on random pages (docs/performance.md)."""
    import uuid

    first = accept_readings(session=session, actor=SYSTEM, readings=[
        enzyme(0.35, 0.30 - 0.01 * i, tested_at=T0 + timedelta(minutes=i)) for i in range(3)])
    session.commit()
    second = accept_readings(session=session, actor=SYSTEM, readings=[
        enzyme(0.35, 0.20, tested_at=T0 + timedelta(hours=1))])
    session.commit()

    def uuids(rep):
        return [session.exec(select(Sample.uuid).where(Sample.code == s.sample_code)).one()
                for s in rep.stored]

    old, new = uuids(first), uuids(second)
    assert len(set(old)) == 3
    assert all(uuid.UUID(u).version == 7 for u in old + new)
    assert max(old) < min(new)
