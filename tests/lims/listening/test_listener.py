"""The listener end to end over real ptys: simulator on the master side, listener on the slave."""

from __future__ import annotations

import os

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from instruments.profiles import FAULTS, ProfileSimulator, load_profile
from instruments.profiles.schema import DATA_DIR
from lims.cli import app
from lims.listening import journal as jr
from lims.models import Instrument, QuarantineItem, TestResult
from tests.lims.listening.listener_helpers import (
    Pty,
    add_instrument,
    pump,
    running_listener,
    wait_for,
)

SN = "KJ12-0001"


def _rows(engine):
    with Session(engine) as s:
        return (list(s.exec(select(TestResult).order_by(TestResult.id))),
                list(s.exec(select(QuarantineItem).order_by(QuarantineItem.id))))


def _rx(var, serial=SN) -> bytes:
    return b"".join(e.data for e in jr.read(var / "journal", serial) if e.kind == "RX")


@pytest.fixture
def var(tmp_path):
    return tmp_path / "var"


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_end_to_end(sqlite_engine, var, fault):
    add_instrument(sqlite_engine, SN)
    pty = Pty()
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=3, interval=0.1, faults=(fault,),
                           seed=11)
    bad = {"drop_byte", "corrupt"}
    expect_q = 1 if fault in bad | {"restart_mid_message"} else 0
    expect_r = 3 - (1 if fault in bad else 0)
    try:
        with running_listener(sqlite_engine, SN, pty.path, var) as lst:
            pump(sim, pty.master)
            wait_for(lambda: (lst.proc.tally.results, lst.proc.tally.quarantined)
                     == (expect_r, expect_q))
    finally:
        pty.close()
    results, quarantined = _rows(sqlite_engine)
    good = [m for m in sim.sent if m.fault not in bad]
    assert [r.raw["control_delta"] for r in results] == [m.record["control_delta"] for m in good]
    assert [r.raw["sample_delta"] for r in results] == [m.record["sample_delta"] for m in good]
    assert all(r.source == "listener" and r.instrument_id is not None for r in results)
    words = {"阴性": "negative", "阳性": "positive", "可疑": "suspicious"}
    assert [r.instrument_verdict for r in results] == [words[m.record["verdict"]] for m in good]
    assert _rx(var) == b"".join(m.wire for m in sim.sent)      # the journal has every byte
    assert len(quarantined) == expect_q
    for q in quarantined:
        assert q.stage == "decode" and q.raw and q.raw in _rx(var) and q.journal_ref
    if fault in bad:
        hit = next(m for m in sim.sent if m.fault == fault)
        assert quarantined[0].raw == hit.wire and "does not match" in quarantined[0].reason


def test_gold_reader_acks_after_the_journal_and_naks_bad_cards(engine, var):
    add_instrument(engine, "GR-0001", "gold-reader")
    pty = Pty()
    sim = ProfileSimulator(load_profile("gold-reader"), count=4, interval=0.1,
                           faults=("corrupt",), seed=2)
    try:
        with running_listener(engine, "GR-0001", pty.path, var) as lst:
            pump(sim, pty.master, until=lambda: lst.proc.tally.results == 3
                 and len(sim.received) == 4)
    finally:
        pty.close()
    assert bytes(sim.received) == b"\x06\x15\x06\x06"
    entries = [e for e in jr.read(var / "journal", "GR-0001") if e.kind in ("RX", "TX")]
    assert b"".join(e.data for e in entries if e.kind == "TX") == bytes(sim.received)
    # each reply is journalled after the RX entry that completed its card (durable first)
    rx_total, ends = 0, []
    for m in sim.sent:
        rx_total += len(m.wire)
        ends.append(rx_total - 2)                    # the frame ends before CR LF
    seen = 0
    for k, e in enumerate(entries):
        if e.kind == "RX":
            seen += len(e.data)
        else:
            assert seen >= ends[sum(1 for x in entries[:k] if x.kind == "TX")]
    results, quarantined = _rows(engine)
    assert {r.raw["instrument_cutoff"] for r in results} == {1.0}
    assert all(r.verdict in ("negative", "positive") for r in results)
    assert len(quarantined) == 1 and b"0.x1" in quarantined[0].raw


def test_message_from_another_instrument_is_quarantined(engine, var):
    add_instrument(engine, SN)
    pty = Pty()
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=2, interval=0.1, serial="XX-9999")
    try:
        with running_listener(engine, SN, pty.path, var) as lst:
            pump(sim, pty.master)
            wait_for(lambda: lst.proc.tally.quarantined == 2)
    finally:
        pty.close()
    results, quarantined = _rows(engine)
    assert results == []
    assert [q.claimed_serial for q in quarantined] == ["XX-9999", "XX-9999"]
    assert all(q.stage == "instrument" and "unknown instrument" in q.reason for q in quarantined)
    assert [q.raw for q in quarantined] == [m.wire for m in sim.sent]


def test_unknown_commodity_is_quarantined_with_the_reason(sqlite_engine, var, tmp_path):
    add_instrument(sqlite_engine, SN)
    prof = load_profile("enzyme-12ch")
    prof.simulator["samples"] = ["火龙果干"]                 # not a known commodity
    pty = Pty()
    sim = ProfileSimulator(prof, count=1, interval=0.1)
    try:
        with running_listener(sqlite_engine, SN, pty.path, var) as lst:
            pump(sim, pty.master)
            wait_for(lambda: lst.proc.tally.quarantined == 1)
    finally:
        pty.close()
    (q,) = _rows(sqlite_engine)[1]
    assert q.stage == "store" and "火龙果干" in q.reason and q.reading["sample_id"]


def test_replay_after_profile_fix_stores_once_and_resolves(sqlite_engine, var, env_db,
                                                           monkeypatch):
    monkeypatch.setenv("LIMS_VAR_DIR", str(var))
    (var / "profiles").mkdir(parents=True)
    text = (DATA_DIR / "enzyme-12ch.toml").read_text(encoding="utf-8")
    broken = text.replace('"可疑" = "suspicious"\n', "").replace(
        'name = "enzyme-12ch"', 'name = "lab-analyzer"')
    assert broken != text
    (var / "profiles" / "lab-analyzer.toml").write_text(broken, encoding="utf-8")
    add_instrument(sqlite_engine, SN, "lab-analyzer")
    pty = Pty()
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=12, interval=0.05, seed=2)
    try:
        with running_listener(sqlite_engine, SN, pty.path, var,
                              profile_dirs=(var / "profiles",)) as lst:
            pump(sim, pty.master)
            wait_for(lambda: lst.proc.tally.results + lst.proc.tally.quarantined == 12)
    finally:
        pty.close()
    n_susp = sum(1 for m in sim.sent if m.record["verdict"] == "可疑")
    assert n_susp > 0
    results, quarantined = _rows(sqlite_engine)
    assert len(results) == 12 - n_susp and len(quarantined) == n_susp
    assert all("可疑" in q.reason for q in quarantined)

    (var / "profiles" / "lab-analyzer.toml").write_text(
        text.replace('name = "enzyme-12ch"', 'name = "lab-analyzer"'), encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(app, ["journal", "replay", "--instrument", SN, "--json"])
    assert out.exit_code == 0, out.output
    out2 = runner.invoke(app, ["journal", "replay", "--instrument", SN])   # twice: no change
    assert out2.exit_code == 0 and "0 new result(s)" in out2.output
    results, quarantined = _rows(sqlite_engine)
    assert len(results) == 12
    assert sorted(r.instrument_verdict for r in results).count("suspicious") == n_susp
    assert all(q.resolved_at is not None and "replayed" in q.resolution for q in quarantined)
    listed = runner.invoke(app, ["quarantine", "list", "--json"])
    assert listed.exit_code == 0 and listed.output.strip() == "[]"
    listed = runner.invoke(app, ["quarantine", "list", "--all", "--json"])
    assert listed.output.count('"resolution": "replayed') == n_susp


def test_reconnects_when_the_port_disappears(sqlite_engine, var, tmp_path):
    add_instrument(sqlite_engine, SN)
    link = tmp_path / "ttyUSB0"
    first = Pty()
    link.symlink_to(first.path)
    prof = load_profile("enzyme-12ch")
    with running_listener(sqlite_engine, SN, str(link), var) as lst:
        pump(ProfileSimulator(prof, count=2, interval=0.05, seed=1), first.master)
        wait_for(lambda: lst.proc.tally.results == 2)
        first.close()                                   # USB unplugged
        link.unlink()
        wait_for(lambda: not lst.connected.is_set())
        second = Pty()                                  # … and plugged in again
        link.symlink_to(second.path)
        wait_for(lambda: lst.connected.is_set())
        try:
            pump(ProfileSimulator(prof, count=2, interval=0.05, seed=2, start=prof and
                                  __import__("datetime").datetime(2026, 5, 7, 9)), second.master)
            wait_for(lambda: lst.proc.tally.results == 4)
        finally:
            second.close()
    assert len(_rows(sqlite_engine)[0]) == 4


def test_decode_command_prints_readings(tmp_path):
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=2, interval=0.0, faults=("corrupt",))
    data, t = b"", 0.0
    while not sim.done:
        data += sim.poll(t)
        t += 0.1
    cap = tmp_path / "capture.bin"
    cap.write_bytes(data)
    out = CliRunner().invoke(app, ["instruments", "decode", "--driver", "profile", "--profile",
                                   "enzyme-12ch", str(cap), "--json"])
    assert out.exit_code == 0, out.output
    import json

    events = json.loads(out.output)
    assert [e["event"] for e in events] == ["reading", "error"]
    assert events[0]["values"]["control_delta"] == sim.sent[0].record["control_delta"]
    assert "control_delta" in events[1]["message"]
    text = CliRunner().invoke(app, ["instruments", "decode", "--driver", "profile", str(cap)])
    assert text.exit_code == 2 and "needs a profile name" in text.output


def test_listen_refuses_an_unknown_instrument(env_db, sqlite_engine):
    out = CliRunner().invoke(app, ["listen", "--instrument", "NOPE-1", "--port", "loop://"])
    assert out.exit_code == 2 and "unknown instrument serial number 'NOPE-1'" in out.output


def test_instruments_add_checks_before_writing(env_db, sqlite_engine):
    runner = CliRunner()
    bad = runner.invoke(app, ["instruments", "add", "--serial", "RP-9", "--driver", "profile",
                              "--profile", "enzyme-12ch", "--port-settings", '{"baud": 9600}'])
    assert bad.exit_code == 2 and "unknown port setting(s) ['baud']" in bad.output
    bad = runner.invoke(app, ["instruments", "add", "--serial", "RP-9", "--driver", "profile"])
    assert bad.exit_code == 2 and "profile" in bad.output
    bad = runner.invoke(app, ["instruments", "add", "--serial", "RP-9", "--driver", "profile",
                              "--profile", "enzyme-12ch", "--method", "NOPE"])
    assert bad.exit_code == 2 and "unknown method 'NOPE'" in bad.output
    with Session(sqlite_engine) as s:
        assert s.exec(select(Instrument)).all() == []
    ok = runner.invoke(app, ["instruments", "add", "--serial", "RP-9", "--driver", "profile",
                             "--profile", "gold-reader", "--method", "KJ-GOLD-CBF",
                             "--port-settings", '{"parity": "E", "bytesize": 7}', "--json"])
    assert ok.exit_code == 0, ok.output
    with Session(sqlite_engine) as s:
        inst = s.exec(select(Instrument)).one()
        from lims.listening.events import InstrumentContext
        from lims.listening.port import port_settings

        ctx = InstrumentContext.load(s, "RP-9")
    assert inst.port_settings == {"parity": "E", "bytesize": 7}
    got = port_settings(ctx, inst.port_settings)
    assert (got.baudrate, got.parity, got.bytesize) == (115200, "E", 7)   # profile + override


def test_socket_url_and_reconnect_after_the_peer_closes(sqlite_engine, var):
    """`socket://host:port` (a serial-to-Ethernet server): the peer closes, the listener
    reconnects and keeps reading."""
    import socket

    add_instrument(sqlite_engine, SN)
    prof = load_profile("enzyme-12ch")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.settimeout(20)
    sims = [ProfileSimulator(prof, count=2, interval=0.0, seed=s, start=d) for s, d in (
        (1, __import__("datetime").datetime(2026, 5, 6, 9)),
        (2, __import__("datetime").datetime(2026, 5, 7, 9)))]
    stored = []
    with running_listener(sqlite_engine, SN, f"socket://127.0.0.1:{port}", var,
                          on_store=stored.extend) as lst:
        for sim in sims:
            conn, _ = server.accept()
            wait_for(lst.connected.is_set)        # pyserial drains the socket while opening
            t = 0.0
            while not sim.done:
                conn.sendall(sim.poll(t))
                t += 1.0
            wait_for(lambda n=len(stored): lst.proc.tally.results >= n + 2)
            conn.close()
    server.close()
    assert [o.kind for o in stored] == ["result"] * 4
    assert len(_rows(sqlite_engine)[0]) == 4


def test_simulate_command_checks_faults_and_runs(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["simulate", "profile", "--profile", "enzyme-12ch", "--port",
                              "loop://", "--fault", "meteor"])
    assert bad.exit_code == 2 and "unknown fault(s) ['meteor']" in bad.output
    missing = runner.invoke(app, ["simulate", "profile", "--profile", "gold-reader", "--port",
                                  str(tmp_path / "ttyNONE")])
    assert missing.exit_code == 2 and "ttyNONE" in missing.output
    pty = Pty()
    try:
        ok = runner.invoke(app, ["simulate", "profile", "--profile", "gold-reader", "--port",
                                 pty.path, "--count", "2", "--interval", "0", "--serial", "GR-7"])
        assert ok.exit_code == 0, ok.output
        got = b""
        for _ in range(50):
            try:
                got += os.read(pty.master, 4096)
            except BlockingIOError:
                if got.count(b"\x03") >= 2:
                    break
                __import__("time").sleep(0.05)
    finally:
        pty.close()
    assert got.count(b"\x02$GOLD;NO=01") == 2 and got.count(b"SN=GR-7\x03") == 2


def test_a_message_printed_twice_is_stored_once(sqlite_engine, var):
    add_instrument(sqlite_engine, SN)
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=2, interval=0.0, seed=3)
    t, data = 0.0, b""
    while not sim.done:
        data += sim.poll(t)
        t += 1.0
    first = sim.sent[0].data
    pty = Pty()
    try:
        with running_listener(sqlite_engine, SN, pty.path, var) as lst:
            os.write(pty.master, data + first)          # the operator pressed "print" again
            wait_for(lambda: lst.proc.tally.results + lst.proc.tally.duplicates == 3)
            assert (lst.proc.tally.results, lst.proc.tally.duplicates) == (2, 1)
    finally:
        pty.close()
    assert len(_rows(sqlite_engine)[0]) == 2
    assert _rx(var) == data + first
