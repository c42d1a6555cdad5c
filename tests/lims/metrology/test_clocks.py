"""Instrument clocks against the listener's receive time (issue 19, ``lims.metrology.clocks``)."""

from datetime import timedelta

from lims.intake.pipeline import ReadingIn, accept_readings
from lims.metrology.clocks import clock_report
from lims.models import Instrument, TestResult
from lims.security.auth import SYSTEM
from tests.lims.conftest import T0


def _port_readings(session, world, serial, offsets_min, lags=None):
    """Card readings as the listener stores them: tested_at from the frame = received_at +
    offset (+ an extra lag before it was received)."""
    session.add(Instrument(serial_no=serial, model="reader", kind="card_reader", driver="profile",
                           market_id=world["m1"].id))
    session.commit()
    lags = lags or [0] * len(offsets_min)
    readings = []
    for i, (off, lag) in enumerate(zip(offsets_min, lags, strict=True)):
        received = T0 + timedelta(minutes=10 * i)
        readings.append(ReadingIn(
            method="ENZ-CARD", raw={"colour": "sky_blue"}, market="M1", vendor_stall="A01",
            commodity="芹菜", instrument_serial=serial, source="listener",
            tested_at=received + timedelta(minutes=off - lag), received_at=received,
            journal_ref=f"20260506.jnl@{i * 40}-{i * 40 + 40}", ingest_key=f"{serial}-{i}"))
    rep = accept_readings(session=session, actor=SYSTEM, readings=readings)
    session.commit()
    return [s.result_id for s in rep.stored]


def test_drift_and_back_dating_are_flagged(session, world):
    _port_readings(session, world, "OK-1", [0.1, -0.2, 0.0, 0.3])
    _port_readings(session, world, "FAST-1", [12.0, 12.5, 11.8])        # runs 12 min ahead
    ids = _port_readings(session, world, "SLOW-1", [-1, -1, -1, -1], lags=[0, 0, 0, 180])
    stored = session.get(TestResult, ids[0])
    assert stored.received_at == T0 and stored.journal_ref == "20260506.jnl@0-40"
    rep = clock_report(session=session, drift_minutes=5, backdate_minutes=60)
    by = {c.serial: c for c in rep.instruments}
    assert by["FAST-1"].drift and by["FAST-1"].median_offset_minutes == 12.0
    assert not by["OK-1"].drift and not by["SLOW-1"].drift
    assert [c.serial for c in rep.drifting] == ["FAST-1"]
    # the reading that arrived three hours after the time it claims: back-dated, and only it
    assert [(b.serial, b.result_id, b.lag_minutes) for b in rep.backdated] == \
        [("SLOW-1", ids[3], 180.0)]
    # a tighter setting flags the slow clock too
    assert {c.serial for c in clock_report(session=session, drift_minutes=0.5,
                                           backdate_minutes=60).drifting} == {"FAST-1", "SLOW-1"}


def test_results_not_from_a_port_are_left_out(session, world):
    accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-CARD", raw={"colour": "sky_blue"}, market="M1", vendor_stall="A01",
        commodity="芹菜", tested_at=T0)])
    session.commit()
    rep = clock_report(session=session, drift_minutes=5, backdate_minutes=60)
    assert rep.instruments == [] and rep.backdated == []
