"""ASTM E1381 frames and E1394 records: the verified vectors of protocols.md §1 and round trips."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from instruments.astm.codec import (
    ChecksumError,
    FrameError,
    RecordError,
    checksum,
    decode_frame,
    encode_frame,
    encode_frames,
)
from instruments.astm.message import Segment, interpret
from instruments.astm.records import (
    Delimiters,
    HeaderRecord,
    OrderRecord,
    Record,
    ResultRecord,
    encode_record,
    parse_record,
    parse_records,
)
from instruments.base import Decoded, DecodeError, Discarded

# (frame bytes, frame number, text, final) — verified frames from protocols.md §1
VECTORS = [
    (b"\x021H|\\^&|||LIS\r\x0341\r\n", 1, b"H|\\^&|||LIS\r", True),
    (b"\x025L|1|N\r\x0308\r\n", 5, b"L|1|N\r", True),
    (b"\x021A|B|C|D\r\x03BF\r\n", 1, b"A|B|C|D\r", True),
    (b"\x027G\r\x038E\r\n", 7, b"G\r", True),
    (b"\x020H\r\x0388\r\n", 0, b"H\r", True),
    (b"\x021foo|1\rb\x17A8\r\n", 1, b"foo|1\rb", False),
]


@pytest.mark.parametrize(("frame", "fn", "text", "final"), VECTORS)
def test_verified_frames_decode(frame, fn, text, final):
    f = decode_frame(frame)
    assert (f.fn, f.text, f.final) == (fn, text, final)


@pytest.mark.parametrize(("frame", "fn", "text", "final"), VECTORS)
def test_verified_frames_encode(frame, fn, text, final):
    assert encode_frame(fn, text, final=final) == frame


def test_checksum_is_sum_mod_256_in_uppercase_hex():
    # FN '1' (0x31) + 'A' (0x41) + ETX (0x03) = 0x75; 'z' * 3 + ETX wraps past 256
    assert checksum(b"1A\x03") == b"75"
    assert checksum(b"1zzz\x03") == b"%02X" % ((0x31 + 3 * 0x7A + 3) % 256)
    assert checksum(bytes([0xFF, 0x01])) == b"00"


def test_frame_numbers_wrap_7_to_0():
    frames = encode_frames([b"R%d\r" % i for i in range(10)], start_fn=1)
    assert [decode_frame(f).fn for f in frames] == [1, 2, 3, 4, 5, 6, 7, 0, 1, 2]


def test_long_record_split_into_etb_frames_of_240():
    rec = b"C|1||" + b"x" * 600 + b"\r"
    frames = encode_frames([rec])
    decoded = [decode_frame(f) for f in frames]
    assert [len(d.text) for d in decoded] == [240, 240, len(rec) - 480]
    assert [d.final for d in decoded] == [False, False, True]
    assert b"".join(d.text for d in decoded) == rec


def test_bad_checksum_is_a_typed_error():
    bad = b"\x021H|\\^&|||LIS\r\x0342\r\n"
    with pytest.raises(ChecksumError, match="should be b'41'"):
        decode_frame(bad)


@pytest.mark.parametrize("frame", [
    b"\x021H\r\x03",                    # no checksum / CR LF
    b"1H\r\x03XX\r\n",                  # no STX
    b"\x029H\r\x03" + b"00\r\n",         # frame number 9
    b"\x021H\r\x04" + b"00\r\n",         # EOT where ETX/ETB belongs
    b"\x021H\r\x03" + b"4F\n\n",         # no CR LF
])
def test_malformed_frames_raise_frame_error(frame):
    with pytest.raises(FrameError):
        decode_frame(frame)


def test_encode_refuses_control_bytes_in_text():
    with pytest.raises(FrameError, match="control byte"):
        encode_frame(1, b"R|1\x04|x\r")


# -- records --------------------------------------------------------------------------------------

def test_header_delimiters_are_declared_and_field_2_never_split():
    h = parse_record("H|\\^&|||LIS2^1.0^SN-9|||||||P|LIS2-A2|20260105090000")
    assert isinstance(h, HeaderRecord)
    assert h.field(2) == (("\\^&",),)
    assert h.component(5, 3) == "SN-9"
    assert h.text("timestamp") == "20260105090000"


def test_custom_delimiters_from_header():
    text = "H!@#$!!!LIS\rO!1!S-7#x@y!!###GLU\rR!1!###GLU!5.2!mmol/L\rL!1!N\r"
    recs = parse_records(text)
    d = Delimiters.from_header("H!@#$")
    assert (d.field, d.repeat, d.component, d.escape) == ("!", "@", "#", "$")
    order = recs[1]
    assert isinstance(order, OrderRecord)
    assert order.field(3) == (("S-7", "x"), ("y",))      # components and a repeat
    assert recs[2].component(3, 4) == "GLU"


def test_escapes_decode_and_encode():
    r = parse_record("C|1|I|a&F&b&S&c&R&d&E&e&H&f|G")
    assert r.text(4) == "a|b^c\\d&e&H&f"                # &H& (highlight) kept as sent
    again = parse_record(encode_record(r))
    assert again.text(4) == r.text(4)


def test_invalid_header_delimiters():
    with pytest.raises(RecordError, match="invalid delimiters"):
        parse_record("H|||&")
    with pytest.raises(RecordError, match="start with"):
        Delimiters.from_header("X|\\^&")


def test_record_build_encode_parse_round_trip():
    rec = Record.build("R", {2: "1", 3: ("", "", "", "PB", "lead"), 4: "0.12", 5: "mg/kg",
                             7: [("H",), ("A",)], 13: "20260105093000", 14: "SN|1"})
    line = encode_record(rec)
    assert line == "R|1|^^^PB^lead|0.12|mg/kg||H\\A||||||20260105093000|SN&F&1"
    back = parse_record(line)
    assert isinstance(back, ResultRecord)
    assert back == rec


# -- message → readings ----------------------------------------------------------------------------

def _segments(lines: list[str]) -> list[Segment]:
    return [Segment(line.encode(), f"<{line}>".encode()) for line in lines]


MESSAGE = [
    "H|\\^&|||KJ-100^2.1^SN0042|||||||P|LIS2-A2|20260105090000",
    "P|1|MKT07",
    "O|1|S-0001||^^^INH|R||||||N",
    "R|1|^^^INH^inhibition|62.5|%|0-50|H||F||op7|20260105090100|20260105090200|SN0042",
    "C|1|I|repeat tested|G",
    "R|2|^^^CLB|NEG|||||F||op7||20260105090300|",
    "R|3|^^^PB|<0.01|mg/kg||N||F",
    "L|1|N",
]


def test_message_to_readings_field_mapping():
    events = interpret(_segments(MESSAGE))
    readings = [e.reading for e in events if isinstance(e, Decoded)]
    assert len(readings) == 3
    r1, r2, r3 = readings
    assert (r1.sample_id, r1.test_id, r1.values) == ("S-0001", "INH", {"value": 62.5, "unit": "%"})
    assert (r1.flags, r1.status, r1.operator) == ("H", "F", "op7")
    assert r1.tested_at == datetime(2026, 1, 5, 9, 2)
    assert r1.instrument_serial == "SN0042"
    assert r1.extra["comments"] == ["repeat tested"]
    assert r1.extra["reference_range"] == "0-50"
    assert r1.extra["patient_id"] == "MKT07"
    assert r1.raw == MESSAGE[3].join("<>").encode() + MESSAGE[4].join("<>").encode()
    assert r2.verdict == "NEG" and r2.values == {}
    assert r3.values == {"value": 0.01, "unit": "mg/kg"} and r3.extra["qualifier"] == "<"
    assert r3.tested_at == datetime(2026, 1, 5, 9, 0)      # falls back to H.14
    assert len({r.extra["message_key"] for r in readings}) == 3
    envelope = [e for e in events if isinstance(e, Discarded)]
    assert len(envelope) == 1
    total = sum(len(s.raw) for s in _segments(MESSAGE))
    assert sum(len(r.raw) for r in readings) + len(envelope[0].raw) == total


def test_value_keys_map_a_test_to_a_raw_key():
    events = interpret(_segments(MESSAGE), value_keys={"INH": "inhibition"})
    first = next(e.reading for e in events if isinstance(e, Decoded))
    assert first.values == {"inhibition": 62.5, "unit": "%"}


def test_message_without_terminator_is_rejected_whole():
    events = interpret(_segments(MESSAGE[:-1]))
    assert len(events) == 1 and isinstance(events[0], DecodeError)
    assert "no L terminator" in events[0].message


def test_bad_result_date_rejects_only_that_result():
    lines = MESSAGE[:3] + ["R|1|^^^INH|40|%||||F||||2026-01-05|"] + MESSAGE[5:]
    events = interpret(_segments(lines))
    errors = [e for e in events if isinstance(e, DecodeError)]
    assert len(errors) == 1 and "field 13" in errors[0].message
    assert errors[0].raw == lines[3].join("<>").encode()
    assert len([e for e in events if isinstance(e, Decoded)]) == 2


def test_empty_value_is_an_explained_error():
    lines = MESSAGE[:3] + ["R|1|^^^INH||%||||X"] + MESSAGE[-1:]
    (err,) = [e for e in interpret(_segments(lines)) if isinstance(e, DecodeError)]
    assert "field 4 (value) is empty" in err.message and "'X'" in err.message


def test_gbk_text_is_decoded():
    lines = [s.encode("gbk") for s in
             ["H|\\^&|||", "O|1|芹菜-01", "R|1|^^^有机磷|阴性||||||F", "L|1|N"]]
    events = interpret([Segment(t, t) for t in lines])
    (r,) = [e.reading for e in events if isinstance(e, Decoded)]
    assert (r.sample_id, r.test_id, r.verdict) == ("芹菜-01", "有机磷", "阴性")


def test_query_message_has_no_readings_and_is_discarded_whole():
    lines = ["H|\\^&|||", "Q|1|^S-0001||^^^ALL||20260105000000", "L|1|N"]
    events = interpret(_segments(lines))
    assert [type(e) for e in events] == [Discarded]
    assert "without result records" in events[0].why
    q = parse_record(lines[1])
    assert type(q).__name__ == "QueryRecord" and q.component(3, 2) == "S-0001"


# -- property: any field text survives encode → parse, delimiters and escape included -----------

TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)


@given(fields=st.lists(st.lists(st.lists(TEXT, min_size=1, max_size=3), min_size=1,
                                max_size=3), min_size=1, max_size=8))
def test_record_round_trip_property(fields):
    values = {i + 2: [tuple(rep) for rep in f] for i, f in enumerate(fields)}
    rec = Record.build("R", values)
    assert parse_record(encode_record(rec)) == rec
    frames = encode_frames([encode_record(rec).encode() + b"\r"], max_text=17)
    text = b"".join(decode_frame(f).text for f in frames)
    assert parse_record(text.decode().rstrip("\r")) == rec
