"""The field page's services: the instrument it opens on (the one sending), typed values through
the intake pipeline, and a batch's channels with their verdicts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from lims.errors import NotFound, ValidationFailed
from lims.field.samples import register_sample
from lims.field.stand import default_instrument, instrument_channels, record_typed_values
from lims.intake import batches
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Instrument, TestResult, UnboundReading
from lims.security.auth import SYSTEM
from tests.lims.conftest import T0, TESTER

ENZ = "ENZ-5009.199"


@pytest.fixture
def readers(session, world):
    m1, m2 = world["m1"].id, world["m2"].id
    out = {}
    for serial, market, kind, profile in (("ENZ-A", m1, "pesticide_analyzer", "enzyme-12ch"),
                                          ("ENZ-B", m1, "pesticide_analyzer", None),
                                          ("ENZ-C", m2, "pesticide_analyzer", "no-such-profile"),
                                          ("GOLD-D", m2, "card_reader", "gold-reader")):
        i = Instrument(serial_no=serial, model="m", kind=kind, driver="profile", profile=profile,
                       market_id=market)
        session.add(i)
        session.flush()
        out[serial] = i.id
    session.commit()
    return out


def _reading(serial: str, at, **kw) -> ReadingIn:
    base = {"market": "M1", "vendor_stall": "A01", "commodity": "豇豆"}
    base.update(kw)
    return ReadingIn(method=ENZ, raw={"control_delta": 0.40, "sample_delta": 0.30},
                     tested_at=at, instrument_serial=serial, source="listener", **base)


def test_default_instrument_is_the_one_sending(session, world, readers):
    m1, m2 = world["m1"].id, world["m2"].id
    # nobody sending: the market's first reader by serial
    assert default_instrument(session=session, market_id=m1, at=T0) == readers["ENZ-A"]
    assert default_instrument(session=session, market_id=m2, at=T0) == readers["ENZ-C"]
    # B sent ten minutes ago: B, though A comes first
    accept_readings(session=session, actor=SYSTEM, readings=[
        _reading("ENZ-B", T0 - timedelta(minutes=10))])
    assert default_instrument(session=session, market_id=m1, at=T0) == readers["ENZ-B"]
    # more than an hour later B is no longer "sending"
    assert default_instrument(session=session, market_id=m1,
                              at=T0 + timedelta(minutes=55)) == readers["ENZ-A"]
    # another market's reader sending more recently does not take over from the market's own…
    accept_readings(session=session, actor=SYSTEM, readings=[
        _reading("ENZ-C", T0 - timedelta(minutes=2))])
    assert default_instrument(session=session, market_id=m1, at=T0) == readers["ENZ-B"]
    assert default_instrument(session=session, market_id=m2, at=T0) == readers["ENZ-C"]
    # …but is the default when it is the only one sending
    assert default_instrument(session=session, market_id=m1,
                              at=T0 + timedelta(minutes=52)) == readers["ENZ-C"]
    # a reading that found no sample (unbound) still shows the reader is sending
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method=ENZ, raw={"control_delta": 0.4, "sample_delta": 0.3}, instrument_serial="ENZ-A",
        channel="3", tested_at=T0 + timedelta(minutes=1))])
    assert rep.unbound == 1 and session.exec(select(UnboundReading)).one()
    assert default_instrument(session=session, market_id=m1, at=T0 + timedelta(minutes=5)) \
        == readers["ENZ-A"]


def test_no_reader_no_default(session, world):
    assert default_instrument(session=session, market_id=world["m1"].id, at=T0) is None


def test_channel_count_from_the_profile(session, readers):
    assert instrument_channels(session=session, instrument_id=readers["ENZ-A"]) == 12
    assert instrument_channels(session=session, instrument_id=readers["GOLD-D"]) == 1
    assert instrument_channels(session=session, instrument_id=readers["ENZ-B"]) == 12
    assert instrument_channels(session=session, instrument_id=readers["ENZ-C"]) == 12
    with pytest.raises(NotFound):
        instrument_channels(session=session, instrument_id=9999)


def test_typed_values_refused_by_field_nothing_written(session, world):
    reg = register_sample(session=session, actor=TESTER, commodity="豇豆", market="M1",
                          vendor_stall="A02", taken_at=T0)
    for values, field in (({"control_delta": "abc", "sample_delta": "0.1"}, "control_delta"),
                          ({"control_delta": "0", "sample_delta": "0.1"}, "control_delta"),
                          ({"control_delta": "0.4", "sample_delta": "7"}, "sample_delta"),
                          ({"control_delta": "0.4", "sample_delta": ""}, "sample_delta")):
        with pytest.raises(ValidationFailed) as e:
            record_typed_values(session=session, actor=TESTER, method=ENZ, values=values,
                                sample_code=reg.sample_code)
        assert [err.field for err in e.value.errors] == [field], values
    with pytest.raises(ValidationFailed) as e:
        record_typed_values(session=session, actor=TESTER, method="KJ-GOLD-CBF",
                            values={"t": "0.5", "c": "-1"}, sample_code=reg.sample_code)
    assert [err.field for err in e.value.errors] == ["c"]
    with pytest.raises(ValidationFailed) as e:
        record_typed_values(session=session, actor=TESTER, method="ENZ-CARD",
                            values={"colour": "unchanged"}, sample_code=reg.sample_code)
    assert e.value.errors[0].field == "method"
    assert session.exec(select(TestResult)).all() == []


def test_typed_values_land_on_the_registered_sample(session, world):
    reg = register_sample(session=session, actor=TESTER, commodity="豇豆", market="M1",
                          vendor_stall="A02", taken_at=T0)
    out = record_typed_values(session=session, actor=TESTER, method=ENZ,
                              values={"control_delta": "0,40", "sample_delta": " 0.10 "},
                              sample_code=reg.sample_code.lower(),
                              tested_at=T0 + timedelta(minutes=5))
    tr = session.get(TestResult, out.result_id)
    assert out.sample_code == reg.sample_code and tr.sample_id == reg.id
    assert out.verdict == "positive" and out.value == 75.0 and tr.source == "manual"
    assert out.vendor_stall == "A02"
    # gold T/C on a new sample of a stall (no registration)
    gold = record_typed_values(session=session, actor=TESTER, method="KJ-GOLD-CBF",
                               values={"t": "1.2", "c": "1.0"}, commodity="豇豆", market="M1",
                               vendor_stall="A03", tested_at=T0 + timedelta(minutes=6))
    assert gold.verdict == "negative" and gold.vendor_stall == "A03"
    assert gold.sample_code != reg.sample_code


def test_batch_channels_show_their_samples_verdicts(session, world, readers):
    a = register_sample(session=session, actor=TESTER, commodity="豇豆", market="M1",
                        vendor_stall="A01", taken_at=T0)
    b = register_sample(session=session, actor=TESTER, commodity="豇豆", market="M1",
                        vendor_stall="A02", taken_at=T0)
    assert batches.open_batch_of(session=session, instrument_id=readers["ENZ-A"]) is None
    view = batches.open_batch(session=session, actor=TESTER, instrument_serial="ENZ-A",
                              channels={"1": a.sample_code, "2": b.sample_code}, control="0",
                              at=T0 + timedelta(minutes=1))
    assert batches.open_batch_of(session=session, instrument_id=readers["ENZ-A"]).id == view.id
    rows = batches.channel_results(session=session, batch_id=view.id)
    assert [(r["channel"], r["sample_code"], r["verdict"]) for r in rows] == [
        ("0", None, None), ("1", a.sample_code, None), ("2", b.sample_code, None)]
    accept_readings(session=session, actor=SYSTEM, readings=[
        ReadingIn(method=ENZ, raw={"control_delta": 0.40, "sample_delta": 0.35},
                  instrument_serial="ENZ-A", channel="01", tested_at=T0 + timedelta(minutes=1)),
        ReadingIn(method=ENZ, raw={"control_delta": 0.40, "sample_delta": 0.10},
                  instrument_serial="ENZ-A", channel="02", tested_at=T0 + timedelta(minutes=9))])
    rows = {r["channel"]: r for r in batches.channel_results(session=session, batch_id=view.id)}
    assert rows["1"]["verdict"] == "negative" and rows["1"]["stall"] == "A01"
    assert rows["2"]["verdict"] == "positive" and rows["2"]["value"] == 75.0
    assert rows["2"]["commodity_zh"] == "豇豆" and rows["2"]["results"] == 1
    assert rows["0"]["control"] and not rows["2"]["retest"]
    batches.close_batch(session=session, actor=TESTER, batch_id=view.id,
                        at=T0 + timedelta(minutes=20))
    assert batches.open_batch_of(session=session, instrument_id=readers["ENZ-A"]) is None
    # a closed batch keeps its results
    closed = batches.channel_results(session=session, batch_id=view.id)
    assert [r["verdict"] for r in closed] == [None, "negative", "positive"]
