"""Profile files: validation errors name file and key; decoding; the simulator round trip."""

from __future__ import annotations

import tomllib
from datetime import datetime

import pytest

from instruments import registry
from instruments.base import Decoded, DecodeError, Discarded, Send
from instruments.profiles import ProfileDecoder, ProfileError, ProfileSimulator, load_profile
from instruments.profiles.schema import DATA_DIR, builtin_names, parse_profile


def _raws(events):
    return b"".join(e.reading.raw if isinstance(e, Decoded) else e.raw
                    for e in events if not isinstance(e, Send))


def _run(sim: ProfileSimulator, step: float = 0.05) -> bytes:
    out, t = bytearray(), 0.0
    while not sim.done:
        out += sim.poll(t)
        t += step
    return bytes(out)


def test_builtin_profiles_load_and_are_registered():
    assert {"enzyme-12ch", "gold-reader"} <= set(builtin_names())
    for name in builtin_names():
        p = load_profile(name)
        assert p.name == name and p.source and p.edition
    dec = registry.get("profile").make_decoder(profile="gold-reader")
    assert isinstance(dec, ProfileDecoder)
    assert load_profile("gold-reader").port_settings().baudrate == 115200


def test_enzyme_line_decodes_every_field():
    line = ("CH07,S202605060012,小白菜,有机磷和氨基甲酸酯类,0.303,0.131,056.8,阳性,"
            "2026-05-06 09:30:12,张三,城东农贸市场,KJ12-0001\r\n").encode("gb2312")
    events = ProfileDecoder(load_profile("enzyme-12ch")).feed(line, 0.0)
    (ev,) = events
    r = ev.reading
    assert r.raw == line and r.channel == "7" and r.sample_id == "S202605060012"
    assert r.values == {"control_delta": 0.303, "sample_delta": 0.131, "inhibition": 56.8}
    assert r.verdict == "阳性" and r.extra["verdict_outcome"] == "positive"
    assert r.extra["sample_name"] == "小白菜" and r.extra["tested_unit"] == "城东农贸市场"
    assert r.extra["method"] == "ENZ-5009.199" and r.test_id == "有机磷和氨基甲酸酯类"
    assert r.tested_at == datetime(2026, 5, 6, 9, 30, 12)
    assert r.operator == "张三" and r.instrument_serial == "KJ12-0001"


def test_invalid_sentinels_become_none_and_are_reported():
    line = ("CH02,S202605060013,菠菜,农药残留,-.---,0.131,----,无效,"
            "2026-05-06 09:30:12,张三,城东农贸市场,KJ12-0001\r\n").encode("gb2312")
    (ev,) = ProfileDecoder(load_profile("enzyme-12ch")).feed(line, 0.0)
    r = ev.reading
    assert r.values["control_delta"] is None and r.values["inhibition"] is None
    assert r.extra["invalid"] == {"control_delta": "-.---", "inhibition": "----"}
    gold = ("\x02$GOLD;NO=01;ID=S202605060001;NAME=豇豆;ITEM=克百威;T=-.---;C=1.234;TC=-.---;"
            "CUTOFF=1.00;RESULT=无效;TIME=2026/05/06 09:00;OP=王五;UNIT=城东;SN=GR-0001\x03")
    events = ProfileDecoder(load_profile("gold-reader")).feed(gold.encode("gb2312"), 0.0)
    assert isinstance(events[0], Decoded) and events[0].reading.values["t"] is None
    assert events[1] == Send(b"\x06")


@pytest.mark.parametrize("name", ["enzyme-12ch", "gold-reader"])
def test_simulator_round_trip_in_small_chunks(name):
    sim = ProfileSimulator(load_profile(name), count=8, interval=0.1, seed=7)
    data = _run(sim)
    dec = ProfileDecoder(load_profile(name))
    events = []
    for i in range(0, len(data), 5):      # any chunking
        events += dec.feed(data[i:i + 5], 1.0)
    decoded = [e.reading for e in events if isinstance(e, Decoded)]
    assert len(decoded) == 8 and _raws(events) == data
    for msg, r in zip(sim.sent, decoded, strict=True):
        rec = msg.record
        assert r.sample_id == rec["sample_id"] and r.extra["sample_name"] == rec["sample_name"]
        assert r.verdict == rec["verdict"] and r.instrument_serial == rec["serial"]
        keys = ("control_delta", "sample_delta", "inhibition") if "inhibition" in rec else (
            "t", "c", "ratio")
        assert {k: r.values[k] for k in keys} == {k: rec[k] for k in keys}


@pytest.mark.parametrize("name", ["enzyme-12ch", "gold-reader"])
def test_each_fault_is_reported_never_silently_stored(name):
    faults = ("garbage", "drop_byte", "silence", "restart_mid_message", "corrupt")
    sim = ProfileSimulator(load_profile(name), count=7, interval=0.1, faults=faults, seed=3)
    dec = ProfileDecoder(load_profile(name))
    events, t = [], 0.0
    while not sim.done or t < 20:
        events += dec.feed(sim.poll(t), t) + dec.poll(t)
        t += 0.05
    assert _raws(events) == b"".join(m.wire for m in sim.sent)
    good = {m.record["sample_id"] for m in sim.sent if m.fault not in ("drop_byte", "corrupt")}
    decoded = [e.reading for e in events if isinstance(e, Decoded)]
    assert {r.sample_id for r in decoded} == good and len(decoded) == len(good)
    errors = [e for e in events if isinstance(e, DecodeError)]
    # drop_byte, corrupt and the half message of the restart
    assert len(errors) == 3, [e.message for e in errors]
    corrupt = next(m for m in sim.sent if m.fault == "corrupt")
    assert [e.raw for e in errors if b"0.x1" in e.raw] == [corrupt.wire[:len(corrupt.wire) - (
        2 if name == "gold-reader" else 0)]]
    assert any("incomplete" in e.message for e in errors)
    if name == "enzyme-12ch":
        assert any(isinstance(e, Discarded) and "noise" in e.why for e in events)


def test_half_line_then_silence_is_reported_by_poll():
    dec = ProfileDecoder(load_profile("enzyme-12ch"))
    assert dec.feed(b"CH01,S2026", 10.0) == []
    assert dec.poll(11.0) == []
    (ev,) = dec.poll(12.5)
    assert isinstance(ev, DecodeError) and ev.raw == b"CH01,S2026" and "incomplete" in ev.message


def _doc(name="enzyme-12ch"):
    return tomllib.loads((DATA_DIR / f"{name}.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("mutate, key", [
    (lambda d: d["text"].update(encoding="big5"), "text.encoding"),
    (lambda d: d["framing"].update(type="xml"), "framing.type"),
    (lambda d: d["parse"]["columns"].__setitem__(1, "sampel_id"), "parse.columns"),
    (lambda d: d["parse"].update(pattern="(?P<t>x)"), "parse"),
    (lambda d: d["fields"]["control_delta"].update(pattern="(("), "fields.control_delta.pattern"),
    (lambda d: d["fields"]["time"].pop("format"), "fields.time.format"),
    (lambda d: d["verdicts"].update({"阳性": "bad"}), "verdicts.阳性"),
    (lambda d: d["port"].update(baudrate=12345), "port"),
    (lambda d: d.update(colour={}), "colour"),
    (lambda d: d["framing"].update(idle_timeout=0), "framing.idle_timeout"),
    (lambda d: d["simulator"].update(template="{nope}"), "simulator.template"),
    (lambda d: d["profile"].pop("source"), "profile.source"),
])
def test_validation_errors_name_file_and_key(mutate, key):
    d = _doc()
    mutate(d)
    with pytest.raises(ProfileError) as ei:
        parse_profile(d, "my-analyzer.toml")
    assert ei.value.key == key and ei.value.file == "my-analyzer.toml"
    assert f"my-analyzer.toml: [{key}]" in str(ei.value)


def test_bad_toml_file_and_unknown_name(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[profile\nname = 1", encoding="utf-8")
    with pytest.raises(ProfileError, match="broken.toml.*not valid TOML"):
        load_profile(str(bad))
    with pytest.raises(ProfileError, match="no profile named 'nope'.*enzyme-12ch"):
        load_profile("nope")
