"""The processor without a serial port: a byte stream recorded from the simulators, fed straight
to ``Processor.receive``, is journalled, decoded and stored exactly as when it arrives on a pty."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from sqlmodel import Session, select

from instruments.profiles import ProfileSimulator, load_profile
from lims.errors import LimsError
from lims.listening import journal as jr
from lims.listening import processor as processor_module
from lims.listening.processor import Processor
from lims.models import QuarantineItem, TestResult
from tests.conftest import TZ, _ready_engine
from tests.lims.listening.listener_helpers import Pty, add_instrument, running_listener, wait_for

SN = "KJ12-0001"
FAULTS = ("corrupt", "garbage", "drop_byte")      # messages 2, 3, 4; 1 and 5 clean


def record(sim) -> bytes:
    """What the simulator puts on the line, as one capture (timing dropped)."""
    data, t = b"", 0.0
    while not sim.done:
        data += sim.poll(t)
        t += 1.0
    return data


def chunks(data: bytes, sizes=(1, 7, 64, 3, 200, 17)):
    """``data`` in uneven pieces, as a socket or a slow line would deliver it."""
    i = k = 0
    while i < len(data):
        yield data[i:i + sizes[k % len(sizes)]]
        i += sizes[k % len(sizes)]
        k += 1


def stored(engine) -> tuple[list[dict], list[dict]]:
    """Results and quarantine items without ids, clocks and the journal's day file name."""
    with Session(engine) as s:
        results = []
        for r in s.exec(select(TestResult).order_by(TestResult.id)):
            d = r.model_dump(exclude={"id", "created_at", "received_at"})
            d["journal_ref"] = d["journal_ref"].split("@")[1]       # RX byte span in the file
            results.append(d)
        items = []
        for q in s.exec(select(QuarantineItem).order_by(QuarantineItem.id)):
            d = q.model_dump(exclude={"id", "received_at", "dedupe_key"})
            d["journal_ref"] = d["journal_ref"].split("@")[1]       # RX byte span in the file
            items.append(d)
    return results, items


def _rx(root: Path, serial: str = SN) -> bytes:
    return b"".join(e.data for e in jr.read(root, serial) if e.kind == "RX")


def test_recorded_stream_fed_directly_stores_what_the_pty_listener_stores(sqlite_engine,
                                                                          tmp_path):
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=5, interval=0.0, faults=FAULTS,
                           seed=11)
    capture = record(sim)
    corrupt = next(m for m in sim.sent if m.fault == "corrupt")

    # (a) through a pty and the port loop, as `lims listen` hears it
    add_instrument(sqlite_engine, SN)
    pty = Pty()
    try:
        with running_listener(sqlite_engine, SN, pty.path, tmp_path / "pty") as lst:
            os.write(pty.master, capture)
            wait_for(lambda: (lst.proc.tally.results, lst.proc.tally.quarantined) == (3, 2))
    finally:
        pty.close()

    # (b) the same bytes handed to the processor directly, in uneven chunks: no port at all
    direct = _ready_engine(f"sqlite:///{tmp_path / 'direct.sqlite3'}")
    try:
        add_instrument(direct, SN)
        root = tmp_path / "direct" / "journal"
        outcomes = []
        with Processor.for_instrument(direct, SN, TZ, journal_root=root) as proc:
            assert proc.journal is not None
            for piece in chunks(capture):
                outcomes += proc.receive(piece)
                assert _rx(root).endswith(piece)           # journalled by the time it returns
        assert (proc.tally.results, proc.tally.quarantined) == (3, 2)
        assert proc.journal is None                        # closed: the lock is released
        kinds = sorted(o.kind for o in outcomes)      # the garbage before message 3: skipped
        assert kinds == ["quarantined"] * 2 + ["result"] * 3 + ["skipped"]
        assert _rx(root) == capture == _rx(tmp_path / "pty" / "journal")

        got_results, got_items = stored(direct)
        want_results, want_items = stored(sqlite_engine)
    finally:
        direct.dispose()
    assert got_results == want_results and len(got_results) == 3
    assert all(d["journal_ref"] for d in got_results)   # each result points at its bytes
    assert got_items == want_items and len(got_items) == 2
    good = [m for m in sim.sent if m.fault not in ("corrupt", "drop_byte")]
    assert [r["raw"]["control_delta"] for r in got_results] == [
        m.record["control_delta"] for m in good]
    assert all(r["source"] == "listener" for r in got_results)
    bad = got_items[0]                                     # the corrupt frame, with its bytes
    assert bad["stage"] == "decode" and bad["raw"] == corrupt.wire
    assert "does not match" in bad["reason"]
    start, end = map(int, bad["journal_ref"].split("-"))
    assert capture[start:end] == corrupt.wire


def test_replies_go_to_the_send_callable_and_the_journal(sqlite_engine, tmp_path):
    """The gold reader expects ACK/NAK: the processor answers through whatever ``send`` it is
    given (a port's write, a socket's sendall) and journals the replies after the bytes."""
    add_instrument(sqlite_engine, "GR-0001", "gold-reader")
    sim = ProfileSimulator(load_profile("gold-reader"), count=4, interval=0.0,
                           faults=("corrupt",), seed=2)
    capture = record(sim)
    replies = bytearray()
    root = tmp_path / "journal"
    with Processor.for_instrument(sqlite_engine, "GR-0001", TZ,
                                  journal_root=root) as proc:
        for piece in chunks(capture, (40,)):
            proc.receive(piece, replies.extend)
        assert proc.idle(replies.extend) == []             # nothing pending
    assert bytes(replies) == b"\x06\x15\x06\x06"
    entries = [e for e in jr.read(root, "GR-0001") if e.kind in ("RX", "TX")]
    assert b"".join(e.data for e in entries if e.kind == "TX") == bytes(replies)
    assert entries[0].kind == "RX"
    assert (proc.tally.results, proc.tally.quarantined) == (3, 1)
    with Session(sqlite_engine) as s:
        (q,) = s.exec(select(QuarantineItem)).all()
    assert b"0.x1" in q.raw and q.raw in capture


def test_a_restarted_processor_stores_nothing_twice(sqlite_engine, tmp_path):
    add_instrument(sqlite_engine, SN)
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=3, interval=0.0, seed=4)
    capture = record(sim)
    root = tmp_path / "journal"
    cut = len(sim.sent[0].wire) + 25                       # inside the second message
    with Processor.for_instrument(sqlite_engine, SN, TZ, journal_root=root) as first:
        first.receive(capture[:cut])
        with pytest.raises(LimsError, match="already running"):
            Processor.for_instrument(sqlite_engine, SN, TZ, journal_root=root).open()
    assert first.tally.results == 1
    with Processor.for_instrument(sqlite_engine, SN, TZ, journal_root=root) as second:
        second.receive(capture[cut:])
    assert (second.tally.results, second.tally.duplicates) == (2, 0)
    with Session(sqlite_engine) as s:
        assert len(s.exec(select(TestResult)).all()) == 3
    assert _rx(root) == capture


def test_receive_needs_an_open_journal(sqlite_engine, tmp_path):
    add_instrument(sqlite_engine, SN)
    proc = Processor.for_instrument(sqlite_engine, SN, TZ, journal_root=tmp_path / "j")
    with pytest.raises(LimsError, match="not open"):
        proc.receive(b"\x02abc")                           # never parse bytes not journalled
    assert not (tmp_path / "j").exists()


def test_the_processor_module_has_no_serial_port():
    """Serial-free by construction: no pyserial import (instruments.base still uses pyserial's
    constants for PortSettings; that is the drivers' business, not the processor's)."""
    path = Path(processor_module.__file__)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    assert [n for n in names if n.split(".")[0] == "serial"] == []
    assert [n for n in names if n.startswith(("lims.listening.port", "lims.listening.listener"))
            ] == []
