"""Property tests: random and mutated bytes, in random chunks, into every codec decoder.

No exception, no hang, and every byte accounted for: the raw lengths of Decoded, DecodeError
and Discarded events add up to the bytes fed, after a final poll far in the future.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instruments import registry
from instruments.astm.codec import encode_frames
from instruments.astm.receiver import AstmReceiver
from tests.instruments.wiring import accounted

DRIVERS = ["astm", "ad", "ad-indicator", "mtsics", "sbi", "ohaus"]

ASTM_MESSAGE = b"\x05" + b"".join(encode_frames([
    b"H|\\^&|||SIM\r", b"P|1|MKT01\r", b"O|1|S-9||^^^INH\r",
    b"R|1|^^^INH|55.0|%||H||F||op|20260105090000|20260105090100|SN1\r",
    b"C|1|I|" + b"c" * 260 + b"\r", b"L|1|N\r"])) + b"\x04"

SAMPLES = {
    "astm": ASTM_MESSAGE,
    "ad": b"ST,+00123.45  g\r\nUS,+00123.40  g\r\nOL,+99999.99  g\r\nEC,E1\r\n",
    "ad-indicator": b"ST,GS,+0012.345kg\r\nUS,NT,-001.568lb\r\nOL,GS,+      .  kg\r\n",
    "mtsics": b'S S     100.00 g\r\nS D     129.07 g\r\nS +\r\nZ A\r\nI4 A "1"\r\nES\r\n',
    "sbi": b"+   123.56 g  \r\nN     +   123.56 g  \r\n      High    \r\n",
    "ohaus": b"    192.21 g\r\n      0.01 g ?\r\nES\r\n",
}

CONTROL = st.sampled_from([b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x15", b"\x17",
                           b"\r", b"\n", b"\r\n"])
CHUNKY = st.lists(st.one_of(st.binary(max_size=40), CONTROL), max_size=40).map(b"".join)


@st.composite
def mutated(draw, sample: bytes) -> bytes:
    data = bytearray(sample * draw(st.integers(1, 3)))
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["flip", "drop", "insert", "dup"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "drop":
            del data[i]
        elif op == "insert":
            data[i:i] = draw(st.one_of(st.binary(min_size=1, max_size=5), CONTROL))
        else:
            j = draw(st.integers(i, min(len(data), i + 30)))
            data[i:i] = data[i:j]
    return bytes(data)


def feed_in_chunks(decoder, data: bytes, cuts: list[int], gaps: list[float]) -> list:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    events, now = [], 0.0
    for k, (a, b) in enumerate(zip(points, points[1:], strict=False)):
        events += decoder.feed(data[a:b], now)
        now += gaps[k % len(gaps)] if gaps else 0.01
        events += decoder.poll(now)
    events += decoder.poll(now + 1e6)
    return events


def check(driver: str, data: bytes, cuts, gaps) -> None:
    decoder = registry.get(driver).make_decoder()
    events = feed_in_chunks(decoder, data, cuts, gaps)
    assert accounted(events) == len(data)
    assert decoder.poll(2e6) == []


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CUTS = st.lists(st.integers(0, 10_000), max_size=12)
GAPS = st.lists(st.sampled_from([0.0, 0.01, 1.0, 3.0, 31.0]), max_size=6)


@pytest.mark.parametrize("driver", DRIVERS)
@PROPS
@given(data=CHUNKY, cuts=CUTS, gaps=GAPS)
def test_random_bytes(driver, data, cuts, gaps):
    check(driver, data, cuts, gaps)


@pytest.mark.parametrize("driver", DRIVERS)
@PROPS
@given(data=st.data(), cuts=CUTS, gaps=GAPS)
def test_mutated_valid_traffic(driver, data, cuts, gaps):
    check(driver, data.draw(mutated(SAMPLES[driver])), cuts, gaps)


@PROPS
@given(cuts=CUTS)
def test_astm_clean_message_decodes_the_same_in_any_chunking(cuts):
    events = feed_in_chunks(AstmReceiver(), ASTM_MESSAGE, cuts, [0.01])
    decoded = [e for e in events if type(e).__name__ == "Decoded"]
    assert len(decoded) == 1 and decoded[0].reading.values == {"value": 55.0, "unit": "%"}
    assert accounted(events) == len(ASTM_MESSAGE)
