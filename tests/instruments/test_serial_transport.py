"""Drivers over real transports: a pty from os.openpty() and socket:// through a TCP relay."""

from __future__ import annotations

import threading

import serial

from instruments import registry
from instruments.astm.receiver import AstmReceiver
from instruments.astm.simulator import AstmSimulator
from instruments.base import Decoded, DecodeError, Send
from instruments.simulator import run
from tests.instruments.serial_helpers import PtyPair, TcpNullModem, host_loop, pump_master
from tests.instruments.wiring import accounted


def _open_slave(pty: PtyPair, driver: str) -> serial.Serial:
    port = serial.Serial()
    port.port = pty.path
    port.apply_settings(registry.get(driver).defaults.serial_kwargs())
    port.open()                  # driver side first: opening flushes input
    return port


def test_astm_over_pty_with_faults():
    pty = PtyPair()
    port = _open_slave(pty, "astm")
    sim = AstmSimulator(count=3, seed=11, interval=0.05,
                        faults=("corrupt_checksum", "garbage", "restart_mid_message"),
                        restart_delay=0.1)
    rx = AstmReceiver()
    stop = threading.Event()
    t = threading.Thread(target=pump_master, args=(sim, pty.master, stop), daemon=True)
    t.start()
    try:
        events, nread = host_loop(port, rx, lambda ev: sim.done and
                                  sum(isinstance(e, Decoded) for e in ev) >= 6, timeout=30)
    finally:
        stop.set()
        t.join(5)
        port.close()
        pty.close()
    decoded = [e.reading for e in events if isinstance(e, Decoded)]
    assert len(decoded) == 6
    assert len({r.extra["message_key"] for r in decoded}) == 6
    assert any(isinstance(e, DecodeError) and "new ENQ" in e.message for e in events)
    naks = [e for e in events if isinstance(e, Send) and e.data == b"\x15"]
    assert len(naks) >= 3                        # one corrupted frame per message
    assert sim.delivered == sim.messages


def test_astm_silence_over_pty_uses_the_receiver_timeout():
    pty = PtyPair()
    port = _open_slave(pty, "astm")
    sim = AstmSimulator(count=1, seed=2, faults=("silence",), silence_seconds=1.0)
    rx = AstmReceiver(timeout=0.5)
    stop = threading.Event()
    t = threading.Thread(target=pump_master, args=(sim, pty.master, stop), daemon=True)
    t.start()
    try:
        events, nread = host_loop(port, rx, lambda ev: any(isinstance(e, Decoded) for e in ev)
                                  and sim.done, timeout=20)
    finally:
        stop.set()
        t.join(5)
        port.close()
        pty.close()
    assert any(isinstance(e, DecodeError) and "no data for 0.5 s" in e.message for e in events)
    assert len([e for e in events if isinstance(e, Decoded)]) == 2


def test_port_defaults_are_applied_to_a_real_tty():
    pty = PtyPair()
    try:
        for name, expect in [("ad", (2400, 7, "E", False, False)),
                             ("mtsics", (9600, 8, "N", True, False)),
                             ("sbi", (1200, 7, "O", False, True)),
                             ("ohaus", (9600, 8, "N", False, False)),
                             ("astm", (9600, 8, "N", False, False))]:
            port = _open_slave(pty, name)
            s = port.get_settings()
            port.close()
            got = (s["baudrate"], s["bytesize"], s["parity"], s["xonxoff"], s["rtscts"])
            assert got == expect, name
    finally:
        pty.close()


def test_astm_over_socket_url_with_simulator_run():
    modem = TcpNullModem()
    sim_port = serial.serial_for_url(modem.url, timeout=0)
    host_port = serial.serial_for_url(modem.url, timeout=0)
    sim = AstmSimulator(count=2, seed=4, faults=("drop_byte",), interval=0.05)
    stop = threading.Event()
    t = threading.Thread(target=run, args=(sim, sim_port), kwargs={"stop": stop, "timeout": 30},
                         daemon=True)
    t.start()
    try:
        events, nread = host_loop(host_port, AstmReceiver(),
                           lambda ev: sum(isinstance(e, Decoded) for e in ev) >= 4, timeout=30)
    finally:
        stop.set()
        t.join(5)
        sim_port.close()
        host_port.close()
        modem.close()
    assert sim.delivered == sim.messages
    assert accounted(events) == nread
    decoded = [e.reading for e in events if isinstance(e, Decoded)]
    assert [r.sample_id for r in decoded] == ["SIM00001", "SIM00001", "SIM00002", "SIM00002"]


def test_balance_over_pty_answers_commands():
    """MT-SICS in respond mode: the host sends S / SI / Z / I4 / a bad command on the slave."""
    pty = PtyPair()
    port = _open_slave(pty, "mtsics")
    sim = registry.get("mtsics").make_simulator(count=None, seed=9, mode="respond")
    dec = registry.get("mtsics").make_decoder()
    stop = threading.Event()
    t = threading.Thread(target=pump_master, args=(sim, pty.master, stop), daemon=True)
    t.start()
    try:
        port.write(b"S\r\nSI\r\nZ\r\nI4\r\nXYZ\r\n")
        events, nread = host_loop(port, dec, lambda ev: len(ev) >= 5, timeout=10)
    finally:
        stop.set()
        t.join(5)
        port.close()
        pty.close()
    values = [e.reading.value for e in events if isinstance(e, Decoded)]
    assert values == [sim.mass, sim.mass]
    whys = [getattr(e, "why", getattr(e, "message", "")) for e in events[2:5]]
    assert "zero set" in whys[0] and "SIM-MTSICS-0001" in whys[1] and "ES: syntax" in whys[2]
    assert accounted(events) == nread
