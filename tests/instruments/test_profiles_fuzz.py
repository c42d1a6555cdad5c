"""Random and mutated bytes into the profile decoder: no crash, every byte accounted for, in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from instruments.base import Decoded, Send
from instruments.profiles import ProfileDecoder, ProfileSimulator, load_profile

PROFILES = {n: load_profile(n) for n in ("enzyme-12ch", "gold-reader")}
SAMPLES = {}
for _n, _p in PROFILES.items():
    _sim = ProfileSimulator(_p, count=3, interval=0.0, seed=5)
    _out, _t = bytearray(), 0.0
    while not _sim.done:
        _out += _sim.poll(_t)
        _t += 0.1
    SAMPLES[_n] = bytes(_out)


def _accounted(dec: ProfileDecoder, chunks: list[bytes]) -> bytes:
    events, t = [], 0.0
    for c in chunks:
        events += dec.feed(c, t)
        events += dec.poll(t)
        t += 0.5
    events += dec.poll(t + 1e6)          # silence: flush whatever is left
    for e in events:
        assert not isinstance(e, Send) or e.data in (b"\x06", b"\x15")
    return b"".join(e.reading.raw if isinstance(e, Decoded) else e.raw
                    for e in events if not isinstance(e, Send))


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(PROFILES)), chunks=st.lists(st.binary(max_size=120), max_size=12))
def test_random_bytes(name, chunks):
    assert _accounted(ProfileDecoder(PROFILES[name]), chunks) == b"".join(chunks)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(PROFILES)), data=st.data())
def test_mutated_messages(name, data):
    raw = bytearray(SAMPLES[name])
    for _ in range(data.draw(st.integers(0, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        if op == "flip":
            raw[i] = data.draw(st.integers(0, 255))
        elif op == "drop":
            del raw[i]
        else:
            raw.insert(i, data.draw(st.sampled_from([2, 3, 13, 10, 0x2C, 0xB0])))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    chunks = [bytes(raw[a:b]) for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert _accounted(ProfileDecoder(PROFILES[name]), chunks) == bytes(raw)
