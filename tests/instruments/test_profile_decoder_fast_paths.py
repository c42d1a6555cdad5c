"""The profile decoder's fast paths (issue 17) give exactly what the plain code gave.

``time_parser`` must return strptime's value, or raise where strptime raises, for every value;
readings are built without the frozen dataclass's ``__init__`` and must be the same objects.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instruments.base import AnalyzerReading, Decoded, DecodeError
from instruments.profiles import ProfileDecoder, ProfileSimulator, load_profile
from instruments.profiles.schema import DATA_DIR, parse_profile
from instruments.profiles.timefields import time_parser

FORMATS = ["%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y.%m.%d", "%Y-%m-%dT%H", "%d/%m/%Y %H:%M",
           "%H:%M:%S %Y%m%d", "%Y/%m/%d %H:%M%%", "%d %b %Y %H:%M", "%Y %Y", "%Y-%m-%d %"]
VALUES = ["2026/05/06 09:00", "2026/5/6 9:00", "2026/02/30 09:00", "2028/02/29 23:59",
          "2026/05/06 24:00", "2026/05/06  09:00", "２０２６/05/06 09:00", "0000/01/01 00:00",
          "2026-05-06 09:30:12", "2026-05-06 09:30:60", "2026-05-06T09:30:12", "2026.05.06",
          "2026-05-06T09", "06/05/2026 09:00", "09:30:12 20260506", "2026/05/06 09:00%",
          "06 May 2026 09:00", "2026 2026", " 2026-05-06 09:30:12", "2026-05-06 09:30:12 ", "",
          "2026-13-01 00:00:00", "2026-00-10 00:00:00", "1999/12/31 23:59"]


def _strptime(value: str, fmt: str):
    try:
        return datetime.strptime(value, fmt)
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return type(exc)


def _fast(value: str, fmt: str):
    try:
        return time_parser(fmt)(value)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


@pytest.mark.parametrize("fmt", FORMATS)
def test_time_parser_is_strptime(fmt):
    for value in VALUES:
        for _ in range(2):                       # the second time from the memo
            assert _fast(value, fmt) == _strptime(value, fmt), (fmt, value)


@settings(max_examples=300, deadline=None)
@given(fmt=st.sampled_from(FORMATS[:6]),
       value=st.text(alphabet="0123456789/-:. T２", min_size=8, max_size=20))
def test_time_parser_is_strptime_on_random_text(fmt, value):
    assert _fast(value, fmt) == _strptime(value, fmt)


@settings(max_examples=200, deadline=None)
@given(y=st.integers(0, 9999), mo=st.integers(0, 13), d=st.integers(0, 32),
       h=st.integers(0, 25), mi=st.integers(0, 61), s=st.integers(0, 61))
def test_time_parser_is_strptime_on_canonical_numbers(y, mo, d, h, mi, s):
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%d/%m/%Y %H:%M:%S"):
        value = (fmt.replace("%Y", f"{y:04d}").replace("%m", f"{mo:02d}")
                 .replace("%d", f"{d:02d}").replace("%H", f"{h:02d}")
                 .replace("%M", f"{mi:02d}").replace("%S", f"{s:02d}"))
        assert _fast(value, fmt) == _strptime(value, fmt), (fmt, value)


@pytest.mark.parametrize("name", ["enzyme-12ch", "gold-reader"])
def test_readings_are_ordinary_analyzer_readings(name):
    sim = ProfileSimulator(load_profile(name), count=5, interval=0.1, seed=2)
    data, t = bytearray(), 0.0
    while not sim.done:
        data += sim.poll(t)
        t += 0.05
    readings = [e.reading for e in ProfileDecoder(load_profile(name)).feed(bytes(data), 0.0)
                if isinstance(e, Decoded)]
    assert len(readings) == 5
    names = [f.name for f in dataclasses.fields(AnalyzerReading)]
    # the decoder fills __dict__ itself: that is only the same object while the class has no
    # __init__ logic of its own and keeps its fields in __dict__
    assert not hasattr(AnalyzerReading, "__post_init__")
    assert "__slots__" not in vars(AnalyzerReading)
    for r in readings:
        assert type(r) is AnalyzerReading and list(vars(r)) == names
        again = AnalyzerReading(**vars(r))
        assert again == r and repr(again) == repr(r)
        with pytest.raises(dataclasses.FrozenInstanceError):
            r.channel = "9"  # type: ignore[misc]


def test_a_channel_int_cannot_read_is_kept_as_text():
    """'²' is a digit to str.isdigit but not to int(): it crashed feed() and lost the line."""
    doc = tomllib.loads((DATA_DIR / "enzyme-12ch.toml").read_text(encoding="utf-8"))
    doc["fields"].pop("channel")
    doc["framing"].pop("record_start")
    doc["text"]["encoding"] = "utf-8"
    dec = ProfileDecoder(parse_profile(doc, "x.toml"))
    line = ("²,S202605060013,菠菜,农药残留,0.100,0.131,010.0,阴性,2026-05-06 09:30:12,张三,"
            "城东农贸市场,KJ12-0001\r\n").encode()
    (ev,) = dec.feed(line, 0.0)
    assert ev.reading.channel == "²" and ev.reading.raw == line
    (ev,) = dec.feed(line.replace("²".encode(), b"07"), 0.0)
    assert ev.reading.channel == "7"


def test_field_errors_name_the_first_field_at_fault():
    gold = ("\x02$GOLD;NO=01;ID=S202605060001;NAME=豇豆;ITEM=克百威;T=0.812;C=1.234;TC=0.658;"
            "CUTOFF=1.00;RESULT=阳性;TIME=2026/02/30 09:00;OP=王五;UNIT=城东;SN=GR-0001\x03")
    events = ProfileDecoder(load_profile("gold-reader")).feed(gold.encode("gb2312"), 0.0)
    assert isinstance(events[0], DecodeError) and events[0].raw == gold.encode("gb2312")
    assert events[0].message == ("field 'time' (#10): '2026/02/30 09:00' is not a time in "
                                 "format '%Y/%m/%d %H:%M'")
    line = ("CH07,S202605060012,小白菜,有机磷和氨基甲酸酯类,0.3x3,0.1x1,056.8,好,"
            "2026-05-06 09:30:12,张三,城东农贸市场,KJ12-0001\r\n").encode("gb2312")
    (ev,) = ProfileDecoder(load_profile("enzyme-12ch")).feed(line, 0.0)
    assert isinstance(ev, DecodeError) and ev.raw == line
    assert ev.message.startswith("field 'control_delta' (#5): '0.3x3' does not match")
