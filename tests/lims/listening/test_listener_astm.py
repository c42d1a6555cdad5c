"""The listener with the ASTM driver over a pty: ENQ/frames/EOT answered with ACK/NAK, replies
journalled after the bytes they answer, retransmitted frames stored once."""

from __future__ import annotations

from sqlmodel import Session, select

from instruments import registry
from lims.listening import journal as jr
from lims.listening.events import InstrumentContext
from lims.listening.processor import replay
from lims.models import QuarantineItem, TestResult
from tests.conftest import TZ
from tests.lims.listening.listener_helpers import Pty, add_instrument, pump, running_listener

SN = "LIS-0001"


def test_astm_ack_nak_sequence_and_readings(sqlite_engine, tmp_path):
    var = tmp_path / "var"
    add_instrument(sqlite_engine, SN, None, driver="astm", method="LAB-GCMS")
    sim = registry.get("astm").make_simulator(faults=("corrupt_checksum",), count=2, seed=3,
                                              interval=0.05, serial=SN)
    replies = bytearray()
    orig = sim.receive
    sim.receive = lambda data, now: (replies.extend(data), orig(data, now))
    pty = Pty()
    try:
        with running_listener(sqlite_engine, SN, pty.path, var) as lst:
            pump(sim, pty.master, until=lambda: sim.done and lst.proc.tally.quarantined
                 + lst.proc.tally.results >= 4)
    finally:
        pty.close()
    assert len(sim.delivered) == 2 and sim.failed == []
    assert set(replies) <= {0x06, 0x15} and replies.count(0x15) == 2      # one bad frame each
    entries = [e for e in jr.read(var / "journal", SN) if e.kind in ("RX", "TX")]
    assert b"".join(e.data for e in entries if e.kind == "TX") == bytes(replies)
    assert entries[0].kind == "RX" and entries[0].data.startswith(b"\x05")   # ENQ first
    for k, e in enumerate(entries):        # every reply follows the received bytes it answers
        if e.kind == "TX":
            assert any(x.kind == "RX" for x in entries[:k])
    with Session(sqlite_engine) as s:
        results = s.exec(select(TestResult)).all()
        quarantined = s.exec(select(QuarantineItem)).all()
    # 2 messages × 2 R records; the lab analytes are not in the reference data here → quarantine
    assert len(results) + len(quarantined) == 4
    assert all(q.stage == "store" and q.reading["sample_id"].startswith("SIM") for q in quarantined)
    with Session(sqlite_engine) as s:
        ctx = InstrumentContext.load(s, SN)
    again = replay(engine=sqlite_engine, ctx=ctx, journal_root=var / "journal", tz=TZ)
    assert again.results == 0
    with Session(sqlite_engine) as s:
        assert len(s.exec(select(QuarantineItem)).all()) == len(quarantined)
