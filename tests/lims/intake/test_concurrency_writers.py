"""Several processes writing at once (two field laptops ingesting, the app correcting results),
on SQLite and PostgreSQL: no lost update, no duplicate sample code, one unbroken audit chain,
rollups equal to a fresh aggregation.

Each writer is a real OS process (multiprocessing, spawn) with its own engine. Both ingest workers
first draw the same sequence of sample codes, so whichever stores a code second must redraw it (on
PostgreSQL also while the other's insert is still uncommitted).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import random
import sys
import traceback
import types
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from lims.intake import rollups
from lims.models import AuditEvent, Market, Sample, TestResult, User, Vendor
from lims.models.enums import Role
from lims.security import audit, users
from lims.security.auth import SYSTEM, Actor
from lims.storage.engine import make_engine
from tests.conftest import TZ

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=TZ)
BATCHES, PER_BATCH, CORRECTIONS = 6, 4, 6
TECH = Actor("tech1", Role.LAB_TECHNICIAN)
CTX = mp.get_context("spawn")


def _ingest_worker(url: str, worker: int, out) -> None:
    """A field laptop: batches of readings, each batch one transaction with one audit event."""
    try:
        import lims.intake.pipeline as ingest_mod
        import lims.intake.storing as storing_mod

        calls = {"n": 0}
        # First draws: the SAME sequence in both workers, so their codes collide. Redraws: each
        # worker its own sequence. (Shared redraws would run in lockstep: the loser of a
        # collision would redraw exactly the codes the winner draws for its next batch, and on
        # PostgreSQL lose again while those are uncommitted, batch after batch. Real codes are
        # 30 random bits per day and never do that.)
        first, again = random.Random(2026), random.Random(worker)

        def tiny_code(rng: random.Random):
            def draw(_day=None) -> str:
                calls["n"] += 1
                return "K" + "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
                                     for _ in range(3))
            return draw

        ingest_mod.new_sample_code = tiny_code(first)
        storing_mod.new_sample_code = tiny_code(again)
        engine = make_engine(url)
        for b in range(BATCHES):
            readings = [ingest_mod.ReadingIn(
                method="ENZ-5009.199",
                raw={"control_delta": 0.4, "sample_delta": round(0.05 + 0.05 * i, 2)},
                tested_at=T0 + timedelta(days=b, minutes=worker * 100 + i), market="M1",
                vendor_stall="A01", commodity="小白菜", tested_by=f"laptop{worker}")
                for i in range(PER_BATCH)]
            with Session(engine) as s:
                rep = ingest_mod.accept_readings(session=s, actor=SYSTEM, readings=readings)
                audit.record(session=s, actor=Actor(f"laptop{worker}", Role.FIELD_TESTER),
                             action="results.import", entity="test_result",
                             entity_id=f"w{worker}b{b}", new={"created": rep.created})
                s.commit()
        engine.dispose()
        out.put(("ok", worker, calls["n"]))
    except BaseException:
        out.put(("error", worker, traceback.format_exc()))


def _correct_worker(url: str, worker: int, result_id: int, key: str, out) -> None:
    """The app: corrections of one result, each in its own transaction."""
    try:
        from lims.intake.corrections import correct_result

        engine = make_engine(url)
        for n in range(CORRECTIONS):
            with Session(engine) as s:
                correct_result(session=s, actor=TECH, result_id=result_id,
                               raw={key: round(0.31 + 0.01 * n + 0.1 * worker, 3)},
                               reason=f"app writer {worker}, correction {n}")
                s.commit()
        engine.dispose()
        out.put(("ok", worker, CORRECTIONS))
    except BaseException:
        out.put(("error", worker, traceback.format_exc()))


def _login_worker(url: str, worker: int, out) -> None:
    try:
        from lims.errors import AuthenticationFailed
        from lims.security.policy import load_policy

        lenient = replace(load_policy(), max_failed=1000)
        engine = make_engine(url)
        for _ in range(10):
            with Session(engine) as s:
                try:
                    users.authenticate(session=s, username="target", password="wrong",
                                       policy=lenient)
                except AuthenticationFailed:
                    pass
        engine.dispose()
        out.put(("ok", worker, 10))
    except BaseException:
        out.put(("error", worker, traceback.format_exc()))


@contextlib.contextmanager
def _plain_main():
    """Start spawned workers without re-running ``__main__`` in them.

    Streamlit's AppTest (tests/dashboards) leaves the app script registered as ``__main__``; a
    spawned child would import it again and run the app against the default database. The
    workers need nothing from ``__main__``, so hide it while they start.
    """
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


def _run(procs, out, timeout=240) -> list[tuple]:
    with _plain_main():
        for p in procs:
            p.start()
    results = [out.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [r[2] for r in results if r[0] == "error"]
    assert not errors, "\n".join(errors)
    assert all(p.exitcode == 0 for p in procs)
    return results


@pytest.fixture
def seeded(engine):
    with Session(engine) as s:
        m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
        s.add(m)
        s.flush()
        s.add(Vendor(market_id=m.id, stall="A01", name="张三"))
        s.commit()
        from lims.intake.pipeline import ReadingIn, accept_readings

        rep = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", raw={"control_delta": 0.5, "sample_delta": 0.3},
            tested_at=T0 - timedelta(days=1), market="M1", commodity="小白菜")])
        s.commit()
    return engine, rep.stored[0].result_id


def test_two_laptops_and_the_app_write_at_once(seeded):
    engine, result_id = seeded
    url = engine.url.render_as_string(hide_password=False)
    out = CTX.Queue()
    procs = [CTX.Process(target=_ingest_worker, args=(url, w, out)) for w in (1, 2)]
    procs += [CTX.Process(target=_correct_worker, args=(url, 0, result_id, "sample_delta", out)),
              CTX.Process(target=_correct_worker, args=(url, 1, result_id, "control_delta", out))]
    results = _run(procs, out)

    expected = 2 * BATCHES * PER_BATCH + 1
    with Session(engine) as s:
        n_results = s.exec(select(sa.func.count()).select_from(TestResult)).one()
        codes = s.exec(select(Sample.code)).all()
        assert n_results == expected
        assert len(codes) == expected and len(set(codes)) == expected
        # the workers really collided and redrew codes
        draws = sum(r[2] for r in results if r[1] in (1, 2) and r[2] != CORRECTIONS)
        assert draws > 2 * BATCHES * PER_BATCH
        # no lost update: both writers' last values are there ...
        tr = s.get(TestResult, result_id)
        assert tr.raw["sample_delta"] == round(0.31 + 0.01 * (CORRECTIONS - 1), 3)
        assert tr.raw["control_delta"] == round(0.31 + 0.01 * (CORRECTIONS - 1) + 0.1, 3)
        # ... and each correction saw the one before it
        evs = list(s.exec(select(AuditEvent).where(AuditEvent.action == "result.correct")
                          .order_by(AuditEvent.id)))
        assert len(evs) == 2 * CORRECTIONS
        for before, after in zip(evs, evs[1:], strict=False):
            assert after.old["raw"] == before.new["raw"]
        # one chain, no fork, every batch's event in it
        report = audit.verify(session=s)
        assert report.ok, report.problem
        actions = [e.action for e in s.exec(select(AuditEvent))]
        assert report.checked == len(actions)   # the follow-up's events are in it too
        assert actions.count("results.import") == 2 * BATCHES
        assert len({e.prev_hash for e in s.exec(select(AuditEvent))}) == report.checked
        assert rollups.check(session=s) == []


def test_failed_logins_from_two_processes_are_all_counted(engine):
    with Session(engine) as s:
        users.add_user(session=s, actor=SYSTEM, username="target", role="field_tester",
                       password="Victim-pass-01")
        s.commit()
    url = engine.url.render_as_string(hide_password=False)
    out = CTX.Queue()
    _run([CTX.Process(target=_login_worker, args=(url, w, out)) for w in (1, 2)], out)
    with Session(engine) as s:
        assert s.exec(select(User).where(User.username == "target")).one().failed_logins == 20
