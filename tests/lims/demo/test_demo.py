"""The demo generator as a service: the DEMO_STEPS extension API, seasons, both backends."""

from __future__ import annotations

from datetime import UTC, date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from lims.demo import loader as demo
from lims.demo.loader import DEMO_STEPS, DemoContext, discover_steps, register_step, run_demo
from lims.errors import LimsError, PermissionDenied
from lims.models import Market, TestResult
from lims.models.enums import Role
from lims.security.auth import Actor

ADMIN = Actor("admin", Role.ADMIN)
BUILT_IN = ["demo_places", "demo_instruments", "demo_events", "demo_results"]


@pytest.fixture
def steps():
    # every module's steps registered first: a module imported during the test registers its
    # steps once per process, and restoring a list taken before that would drop them for good
    discover_steps()
    saved = list(DEMO_STEPS)
    yield DEMO_STEPS
    DEMO_STEPS[:] = saved


def test_built_in_steps_in_order():
    names = [s.__name__ for s in DEMO_STEPS]
    assert [n for n in names if n in BUILT_IN] == BUILT_IN


def test_register_step_positions(steps):
    def demo_a(ctx): ...
    def demo_b(ctx): ...
    def demo_c(ctx): ...

    register_step(demo_a)
    register_step(after="demo_instruments")(demo_b)
    register_step(before="demo_places")(demo_c)
    names = [s.__name__ for s in steps]
    assert names[0] == "demo_c" and names[-1] == "demo_a"
    assert names.index("demo_b") == names.index("demo_instruments") + 1
    def demo_d(ctx): ...

    with pytest.raises(ValueError, match="no step named 'nope'"):
        register_step(after="nope")(demo_d)


def test_added_step_runs_with_the_context(session, steps):
    seen: dict = {}

    @register_step(after="demo_results")
    def demo_probe(ctx: DemoContext) -> None:
        seen["positives"] = list(ctx.positive_ids)
        seen["markets"] = len(ctx.markets)
        seen["draws"] = (ctx.rng("demo_probe").random(), ctx.rng("demo_probe").random(),
                         ctx.rng("demo_places").random())
        ctx.counts["probe"] += 1

    rep = run_demo(session=session, actor=ADMIN, markets_per_county=2, days=5,
                   until=date(2026, 7, 20), seed=3, only=[*BUILT_IN, "demo_probe"])
    session.commit()
    assert "demo_probe" in rep.steps and rep.counts["probe"] == 1
    assert seen["markets"] == 8
    ids = set(session.exec(select(TestResult.id).where(TestResult.verdict == "positive")))
    assert seen["positives"] and set(seen["positives"]) <= ids
    a, b, other = seen["draws"]
    assert a == b != other  # a stream per name, reproducible
    kinds = set(session.exec(select(Market.kind)))
    assert len(kinds) == 5


def test_only_names_known_steps(session):
    with pytest.raises(LimsError, match="unknown demo step"):
        run_demo(session=session, actor=ADMIN, days=1, only=["demo_nope"])


def test_demo_needs_permission(session):
    with pytest.raises(PermissionDenied):
        run_demo(session=session, actor=Actor("t", Role.FIELD_TESTER), days=1)


def test_summer_is_worse_than_winter(sqlite_engine):
    from sqlmodel import Session

    with Session(sqlite_engine) as s:
        run_demo(session=s, actor=ADMIN, markets_per_county=1, days=365,
                 until=date(2026, 6, 30), seed=11, only=BUILT_IN)
        s.commit()
    with sqlite_engine.connect() as c:
        rows = c.execute(sa.text("""
            SELECT CAST(strftime('%m', local_date) AS INTEGER) AS month,
                   SUM(CASE WHEN verdict IN ('positive', 'suspicious') THEN 1 ELSE 0 END),
                   COUNT(*)
            FROM test_result WHERE retest_of_id IS NULL GROUP BY month""")).all()
    by_month = {m: (bad, n) for m, bad, n in rows}
    summer = [by_month[m] for m in (7, 8) if m in by_month] + [by_month[6]]
    winter = [by_month[m] for m in (12, 1, 2)]
    rate = lambda xs: sum(b for b, _ in xs) / sum(n for _, n in xs)  # noqa: E731
    assert rate(summer) > 2 * rate(winter)


def test_module_docstring_documents_the_api():
    doc = demo.__doc__ or ""
    for word in ("DEMO_STEPS", "register_step", "after=", "ctx.rng", "ctx.session"):
        assert word in doc


def test_default_demo_ends_before_now_at_any_hour(session, monkeypatch):
    """Without --until the demo ends on the last whole day: run just after midnight, nothing it
    makes (results, cases, calibrations) lies after now; it used to refuse a case "in the
    future" because today's market hours had not happened yet."""
    from datetime import datetime

    import sqlalchemy as sa

    from lims.models import CalibrationRecord, EnforcementCase, TestResult
    from lims.timeutil import now

    monkeypatch.setenv("LIMS_CLOCK", "2026-05-20T01:17:00+08:00")
    rep = run_demo(session=session, actor=ADMIN, markets_per_county=1, days=7)
    assert rep.until.isoformat() == "2026-05-19"
    latest = now()
    for column in (TestResult.tested_at, EnforcementCase.opened_at, CalibrationRecord.performed_at):
        newest = session.execute(sa.select(sa.func.max(column))).scalar()
        if newest.tzinfo is None:   # stored in UTC
            newest = newest.replace(tzinfo=UTC)
        assert newest <= latest, (column, newest)
    assert isinstance(latest, datetime)
