"""Balance line formats (examples from protocols.md §2), error replies, simulators with faults."""

from __future__ import annotations

import pytest

from instruments import registry
from instruments.base import Decoded, DecodeError, Discarded, Stability
from tests.instruments.wiring import accounted, wire


def decode(driver: str, data: bytes, **options):
    dec = registry.get(driver).make_decoder(**options)
    events = dec.feed(data, 0.0) + dec.poll(100.0)
    assert accounted(events) == len(data)
    return events


def one(driver: str, line: str):
    (event,) = decode(driver, line.encode("ascii") + b"\r\n")
    return event


@pytest.mark.parametrize(("driver", "line", "value", "unit", "stability", "mode"), [
    ("ad", "ST,+00123.45  g", 123.45, "g", Stability.STABLE, "gross"),
    ("ad", "US,+00123.40  g", 123.40, "g", Stability.UNSTABLE, "gross"),
    ("ad", "ST,+0001.234 kg", 1.234, "kg", Stability.STABLE, "gross"),
    ("ad", "QT,+00001234 PC", 1234, "PC", Stability.STABLE, "count"),
    ("ad", "ST,-00012.30  g", -12.3, "g", Stability.STABLE, "gross"),
    ("ad-indicator", "ST,GS,+0012.345kg", 12.345, "kg", Stability.STABLE, "gross"),
    ("ad-indicator", "US,NT,-001.568lb", -1.568, "lb", Stability.UNSTABLE, "net"),
    ("ad-indicator", "OL,GS,+      .  kg", None, "kg", Stability.OVERLOAD, "gross"),
    ("mtsics", "S S     100.00 g", 100.0, "g", Stability.STABLE, "net"),
    ("mtsics", "S D     129.07 g", 129.07, "g", Stability.UNSTABLE, "net"),
    ("mtsics", "S +", None, "", Stability.OVERLOAD, "net"),
    ("mtsics", "S -", None, "", Stability.UNDERLOAD, "net"),
    ("mtsics", "T S      20.00 g", 20.0, "g", Stability.STABLE, "tare"),
    ("sbi", "+   123.56 g  ", 123.56, "g", Stability.STABLE, "gross"),
    ("sbi", "N     +   123.56 g  ", 123.56, "g", Stability.STABLE, "net"),
    ("sbi", "-    12.30    ", -12.3, "", Stability.UNSTABLE, "gross"),
    ("sbi", "      High    ", None, "", Stability.OVERLOAD, "gross"),
    ("ohaus", "    192.21 g", 192.21, "g", Stability.STABLE, "gross"),
    ("ohaus", "      0.01 g ?", 0.01, "g", Stability.UNSTABLE, "gross"),
    ("ohaus", "     -5.20 kg ? NET", -5.2, "kg", Stability.UNSTABLE, "net"),
])
def test_documented_lines(driver, line, value, unit, stability, mode):
    event = one(driver, line)
    assert isinstance(event, Decoded), event
    r = event.reading
    assert (r.value, r.unit, r.stability, r.mode) == (value, unit, stability, mode)
    assert r.raw == line.encode() + b"\r\n"


@pytest.mark.parametrize(("driver", "line", "why"), [
    ("ad", "EC,E1", "undefined command"),
    ("ad", "EC,E2", "not ready"),
    ("ad", "EC,E4", "too many characters"),
    ("ad", "EC,E6", "format"),
    ("ad", "EC,E7", "out of range"),
    ("ad", "ST,+0123.45  g", "14 characters"),          # a dropped digit is not another weight
    ("ad", "XX,+00123.45  g", "header 'XX'"),
    ("mtsics", "S I", "not executable"),
    ("mtsics", "ES", "syntax"),
    ("mtsics", "ET", "transmission"),
    ("mtsics", "EL", "logical"),
    ("mtsics", "Z I", "not executable"),
    ("mtsics", "S S    100.00 g", "10-character field"),
    ("sbi", "+   123.56 g ", "16 or 22"),
    ("sbi", "Stat     ERR 123    ", "error 123"),
    ("ohaus", "ES", "invalid command"),
    ("ohaus", "    192.2 g", "expected 10"),
])
def test_error_replies_and_bad_lines_name_the_line_and_why(driver, line, why):
    event = one(driver, line)
    assert isinstance(event, DecodeError)
    assert why in event.message and repr(line) in event.message


def test_info_replies_are_discarded_with_their_meaning():
    zero, serial_no = decode("mtsics", b'Z A\r\nI4 A "1234567"\r\n')
    assert isinstance(zero, Discarded) and "zero set" in zero.why
    assert isinstance(serial_no, Discarded) and "'1234567'" in serial_no.why


def test_line_framing_any_chunking_cr_only_and_timeout():
    dec = registry.get("ad").make_decoder()
    data = b"ST,+00123.45  g\r\nUS,+00123.40  g\r"
    events = []
    for i, b in enumerate(data):
        events += dec.feed(bytes([b]), i * 0.001)
    assert len(events) == 1                      # the CR-only line waits for the next byte
    events += dec.poll(0.5)
    assert events[1:] == []
    events += dec.poll(10.0)                     # ... or for the line timeout
    assert [e.reading.value for e in events] == [123.45, 123.40]
    (err,) = dec.feed(b"ST,+001", 20.0) + dec.poll(30.0)
    assert isinstance(err, DecodeError) and "incomplete line" in err.message


def test_indicator_learns_its_value_width():
    events = decode("ad-indicator", b"ST,GS,+0012.345kg\r\nST,GS,+012.345kg\r\n"
                                    b"ST,GS,+0012.345kg\r\nST,GS,+012.34kg\r\nST,GS,+012.35kg\r\n")
    assert [type(e).__name__ for e in events] == ["Decoded", "DecodeError", "Decoded",
                                                  "DecodeError", "Decoded"]
    assert "dropped or extra byte" in events[1].message


def test_noise_before_a_line_is_split_off():
    events = decode("ad", b"\xf5\x00\x99ST,+00123.45  g\r\n")
    assert [type(e) for e in events] == [Discarded, Decoded]
    assert events[0].raw == b"\xf5\x00\x99"


SIM_FAULTS = [(), ("unstable",), ("overload",), ("drop_byte",), ("garbage",), ("silence",),
              ("restart_mid_message",)]


@pytest.mark.parametrize("driver", ["ad", "ad-indicator", "mtsics", "sbi", "ohaus"])
@pytest.mark.parametrize("faults", SIM_FAULTS, ids=lambda f: "+".join(f) or "clean")
def test_simulator_against_decoder(driver, faults):
    spec = registry.get(driver)
    if driver == "ohaus" and "overload" in faults:
        with pytest.raises(ValueError, match="supported"):
            spec.make_simulator(faults=faults)
        return
    sim = spec.make_simulator(faults=faults, count=12, seed=4, silence_seconds=3.0)
    w = wire(sim, spec.make_decoder())
    assert accounted(w.events) == len(w.sent_by_sim)
    readings = w.decoded
    stable = [r for r in readings if r.stability is Stability.STABLE]
    assert stable and all(r.value == pytest.approx(sim.mass) for r in stable)
    if not faults:
        assert len(readings) == 12 and not w.errors
    if "unstable" in faults:
        assert sum(r.stability is Stability.UNSTABLE for r in readings) == 4   # lines 1,4,7,10
    if "overload" in faults:
        assert sum(r.stability is Stability.OVERLOAD for r in readings) == 2   # lines 3,8
        assert all(r.value is None for r in readings if r.stability is Stability.OVERLOAD)
    if {"drop_byte", "silence", "restart_mid_message"} & set(faults):
        assert w.errors
    if "silence" in faults:
        assert any("incomplete line" in e.message for e in w.errors)


def test_simulator_commands():
    ad = registry.get("ad").make_simulator(count=None, mode="respond")
    ad.receive(b"Q\r\nBAD\r\n", 0.0)
    assert ad.poll(0.0) == ad.lines[0] + b"EC,E1\r\n"
    sbi = registry.get("sbi").make_simulator(count=None, mode="respond", with_id=True)
    sbi.receive(b"\x1bP", 0.0)
    (event,) = decode("sbi", sbi.poll(0.0))
    assert event.reading.value == sbi.mass and event.reading.header == "G#"
    ohaus = registry.get("ohaus").make_simulator(count=None, mode="respond")
    ohaus.receive(b"IP\r\nX\r\n", 0.0)
    assert ohaus.poll(0.0).endswith(b"ES\r\n")


def test_byte_time_paces_the_line():
    sim = registry.get("ohaus").make_simulator(count=1, byte_time=0.01)
    got = {t: sim.poll(t / 1000) for t in range(0, 400)}      # a poll every millisecond
    assert len(b"".join(v for t, v in got.items() if t <= 50)) <= 5
    assert b"".join(got.values()) == sim.lines[0] and sim.done
