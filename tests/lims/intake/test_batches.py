"""Samples on an analyzer's channels: a 12-channel run over a real pty lands each reading on the
sample of its channel; an empty channel goes to the unbound queue; the same through a file."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session, select

from instruments.profiles import ProfileSimulator, load_profile
from lims.errors import Conflict, ValidationFailed
from lims.field.samples import register_sample
from lims.files.results_import import import_results
from lims.intake import batches, unbound
from lims.models import Market, Sample, TestResult, UnboundReading, Vendor
from lims.security.auth import SYSTEM, Actor
from tests.conftest import TZ
from tests.lims.listening.listener_helpers import (
    Pty,
    add_instrument,
    pump,
    running_listener,
    wait_for,
)

SN = "KJ12-0077"
TECH = Actor("li.lab", "lab_technician")
OPENED = datetime(2026, 5, 6, 8, 0, tzinfo=TZ)   # the simulator's run starts at 09:00


def _samples(engine, n: int) -> dict[str, str]:
    """n samples registered at stalls of M-EAST: channel (1…n) → code."""
    with Session(engine) as s:
        m = s.exec(select(Market).where(Market.code == "M-EAST")).one()
        for i in range(1, n + 1):
            s.add(Vendor(market_id=m.id, stall=f"A{i:02d}", name=f"vendor {i}"))
        s.commit()
        out = {str(i): register_sample(session=s, actor=TECH, commodity="小白菜",
                                       market="M-EAST", vendor_stall=f"A{i:02d}",
                                       taken_at=OPENED).sample_code for i in range(1, n + 1)}
        s.commit()
    return out


def _open(engine, channels: dict[str, str], **kw) -> int:
    with Session(engine) as s:
        v = batches.open_batch(session=s, actor=TECH, instrument_serial=SN, channels=channels,
                               at=OPENED, **kw)
        s.commit()
    return v.id


def test_a_12_channel_run_lands_on_the_samples_of_its_channels(sqlite_engine, tmp_path):
    add_instrument(sqlite_engine, SN)
    codes = _samples(sqlite_engine, 11)          # channel 12 stays empty
    _open(sqlite_engine, codes)
    sim = ProfileSimulator(load_profile("enzyme-12ch"), count=12, interval=0.05, seed=5,
                           serial=SN)
    pty = Pty()
    try:
        with running_listener(sqlite_engine, SN, pty.path, tmp_path / "var") as lst:
            pump(sim, pty.master)
            wait_for(lambda: lst.proc.tally.results + lst.proc.tally.unbound == 12)
    finally:
        pty.close()
    with Session(sqlite_engine) as s:
        for ch, code in codes.items():
            sample = s.exec(select(Sample).where(Sample.code == code)).one()
            (tr,) = s.exec(select(TestResult).where(TestResult.sample_id == sample.id)).all()
            assert int(tr.channel) == int(ch)
        assert len(s.exec(select(Sample)).all()) == 11           # no sample made up
        (u,) = s.exec(select(UnboundReading)).all()
        assert int(u.channel) == 12 and u.status == "waiting" and "holds no sample" in u.reason


def test_the_same_through_a_file_with_instrument_and_channel_only(sqlite_engine, tmp_path):
    add_instrument(sqlite_engine, SN)
    codes = _samples(sqlite_engine, 2)
    _open(sqlite_engine, codes)
    f = tmp_path / "run.csv"
    f.write_text("method,tested_at,instrument,channel,control_delta,sample_delta\n"
                 "ENZ-5009.199,2026-05-06 09:00,KJ12-0077,01,0.40,0.35\n"
                 "ENZ-5009.199,2026-05-06 09:01,KJ12-0077,2,0.40,0.10\n"
                 "ENZ-5009.199,2026-05-06 09:02,KJ12-0077,3,0.40,0.36\n"
                 "ENZ-5009.199,2026-05-06 09:20,KJ12-0077,2,0.40,0.12\n", encoding="utf-8")
    with Session(sqlite_engine) as s:
        rep = import_results(session=s, actor=SYSTEM, path=f)
        s.commit()
        assert (rep.created, rep.unbound) == (3, 1)
        second = s.exec(select(Sample).where(Sample.code == codes["2"])).one()
        screen, retest = s.exec(select(TestResult).where(TestResult.sample_id == second.id)
                                .order_by(TestResult.tested_at)).all()
        assert retest.retest_of_id == screen.id   # the same channel and sample: a re-test
        # the queue: bind the stray reading to a sample, or void it; never lost
        (waiting,) = unbound.list_unbound(session=s)
        assert waiting["channel"] == "3" and waiting["raw"]["sample_delta"] == 0.36
        st = unbound.bind_unbound(session=s, actor=TECH, unbound_id=waiting["id"],
                                  sample_code=codes["1"])
        s.commit()
        tr = s.get(TestResult, st.result_id)
        assert tr.sample_id == s.exec(select(Sample.id).where(Sample.code == codes["1"])).one()
        with pytest.raises(Conflict, match="already bound"):
            unbound.void_unbound(session=s, actor=TECH, unbound_id=waiting["id"], reason="x")
        # importing the file again adds nothing, the bound reading included
        again = import_results(session=s, actor=SYSTEM, path=f)
        assert (again.created, again.unbound) == (0, 0) and again.duplicates == 4


def test_a_reading_outside_any_batch_with_no_commodity_is_unbound_not_an_error(session):
    from lims.intake.pipeline import ReadingIn, accept_readings

    add_instrument(session.get_bind(), SN)
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", raw={"control_delta": 0.4, "sample_delta": 0.1}, channel="4",
        tested_at=OPENED, instrument_serial=SN)])
    (st,) = rep.stored
    assert st.state == "unbound" and "no batch" in st.verdict.reasons[0]
    assert session.exec(select(TestResult)).all() == []
    unbound.void_unbound(session=session, actor=TECH, unbound_id=st.unbound_id,
                         reason="blank run")
    assert session.get(UnboundReading, st.unbound_id).status == "voided"


def test_batch_refuses_unknown_codes_and_one_sample_on_two_channels(sqlite_engine):
    add_instrument(sqlite_engine, SN)
    codes = _samples(sqlite_engine, 1)
    with Session(sqlite_engine) as s, pytest.raises(ValidationFailed) as e:
        batches.open_batch(session=s, actor=TECH, instrument_serial=SN,
                           channels={"1": codes["1"], "2": codes["1"], "3": "NOPE0000"},
                           control="1")
    msgs = str(e.value)
    assert "NOPE0000" in msgs and "already on channel 1" in msgs and "control" in msgs
    bid = _open(sqlite_engine, codes, control="0")
    with Session(sqlite_engine) as s:
        v = batches.close_batch(session=s, actor=TECH, batch_id=bid,
                                at=datetime(2026, 5, 6, 12, 0, tzinfo=TZ))
        assert v.closed_at is not None and {x["channel"] for x in v.slots} == {"0", "1"}
        with pytest.raises(Conflict):
            batches.close_batch(session=s, actor=TECH, batch_id=bid)
