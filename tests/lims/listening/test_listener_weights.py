"""Balance readings through the listener become metering readings, stored once."""

from __future__ import annotations

from sqlmodel import Session, select

from instruments import registry
from lims.listening import journal as jr
from lims.listening.events import InstrumentContext
from lims.listening.processor import replay
from lims.models import MeteringReading
from tests.conftest import TZ
from tests.lims.listening.listener_helpers import Pty, add_instrument, pump, running_listener

SN = "AD-1-12345"


def test_ad_balance_lines_become_metering_readings(sqlite_engine, tmp_path):
    var = tmp_path / "var"
    add_instrument(sqlite_engine, SN, None, driver="ad", market_code=None)
    sim = registry.get("ad").make_simulator(count=5, seed=2, interval=0.05)
    pty = Pty()
    try:
        with running_listener(sqlite_engine, SN, pty.path, var) as lst:
            assert (lst.settings.baudrate, lst.settings.bytesize, lst.settings.parity) == (
                2400, 7, "E")                        # the A&D documented default line
            pump(sim, pty.master, until=lambda: sim.done and lst.proc.tally.weights >= 5)
    finally:
        pty.close()
    with Session(sqlite_engine) as s:
        rows = s.exec(select(MeteringReading).order_by(MeteringReading.id)).all()
    rx = b"".join(e.data for e in jr.read(var / "journal", SN) if e.kind == "RX")
    assert len(rows) == 5 and b"".join(r.raw for r in rows) == rx
    assert all(r.unit and r.stability for r in rows)
    with Session(sqlite_engine) as s:
        ctx = InstrumentContext.load(s, SN)
    again = replay(engine=sqlite_engine, ctx=ctx, journal_root=var / "journal", tz=TZ)
    assert again.weights == 0 and again.duplicates == 5
