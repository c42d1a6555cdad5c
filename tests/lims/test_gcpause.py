"""The collector pause around a batch (lims.gcpause): counted across threads, restored after
errors, and in force for the whole of ``accept_readings``."""

import gc
import threading
from datetime import datetime, timedelta

import pytest

from lims import gcpause
from lims.errors import ValidationFailed
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Market, Vendor
from lims.security.auth import SYSTEM
from tests.conftest import TZ

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_nested_pauses_restore_the_collector_once(collector_on):
    with gcpause.paused():
        assert not gc.isenabled()
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_threads_reenable_only_when_the_last_leaves(collector_on):
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with gcpause.paused():
            a_in.set()
            b_in.wait(5)
        seen["after_a"] = gc.isenabled()
        a_out.set()

    def b():
        a_in.wait(5)
        with gcpause.paused():
            b_in.set()
            a_out.wait(5)
            seen["b_still_paused"] = not gc.isenabled()

    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert seen == {"after_a": False, "b_still_paused": True}
    assert gc.isenabled()


def test_a_collector_the_program_disabled_stays_disabled():
    was = gc.isenabled()
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


@pytest.fixture
def stalls(session):
    m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
    session.add(m)
    session.flush()
    session.add_all([Vendor(market_id=m.id, stall=f"A{i:02d}", name=f"摊主{i}") for i in range(20)])
    session.commit()


def _readings(n):
    return [ReadingIn(method="ENZ-5009.199", tested_at=T0 + timedelta(seconds=i), market="M1",
                      vendor_stall=f"A{i % 20:02d}", commodity="小白菜", ingest_key=f"gc-{i}",
                      raw={"control_delta": 0.5, "sample_delta": round(0.45 - i % 7 * 0.05, 3)})
            for i in range(n)]


def test_no_collection_runs_during_a_batch_and_the_collector_is_back_after(session, stalls,
                                                                            collector_on):
    runs = []

    def count(phase, info):
        if phase == "start":
            runs.append(info["generation"])
    readings = _readings(600)
    gc.callbacks.append(count)
    try:
        # 600 readings allocate far more than the 700 objects that start a collection
        rep = accept_readings(session=session, actor=SYSTEM, readings=readings)
        session.commit()
    finally:
        gc.callbacks.remove(count)
    assert rep.created == 600
    # without the pause, dozens; with it, at most the one that the pause's end sets off
    assert len(runs) <= 1, runs
    assert gc.isenabled()


def test_a_refused_batch_gives_the_collector_back(session, stalls, collector_on):
    bad = _readings(3)
    bad[1].market = "NOWHERE"
    with pytest.raises(ValidationFailed):
        accept_readings(session=session, actor=SYSTEM, readings=bad)
    session.rollback()
    assert gc.isenabled()
