"""Pass rates count samples, not readings (issue 16), on SQLite and PostgreSQL.

A sample counts once, with its final verdict (a lab result overrules the screen, the last re-test
the earlier ones; held/voided never count), in the week it was taken. Expected figures are
computed here in plain Python from the stored rows, independently of the SQL and the flags.
"""

import random
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from lims.field.board import market_board
from lims.intake import rollups
from lims.intake.corrections import void_result
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.lab import release
from lims.models import Market, Method, Sample, TestResult
from lims.models.enums import Role
from lims.reporting import field_reads, reports, stats
from lims.security.auth import SYSTEM, Actor
from lims.verdicts import Outcome
from tests.conftest import TZ

SAT = datetime(2026, 3, 7, 10, 0, tzinfo=TZ)   # a Saturday: re-tests days later fall next week
WEEK = date(2026, 3, 2)
COUNTED = {"recorded", "accepted"}


@pytest.fixture
def world(session):
    for code, county in (("M1", "东城区"), ("M2", "西城区")):
        session.add(Market(code=code, name=f"{code} 市场", county=county, kind="farmers"))
    session.commit()
    return session


def enz(inhibition: float) -> dict:
    return {"control_delta": 0.5, "sample_delta": round(0.5 * (1 - inhibition / 100), 4)}


LAB2 = Actor("lab2", Role.LAB_TECHNICIAN)   # releases lab results (second person)


def ingest(s, *readings):
    rep = accept_readings(session=s, actor=SYSTEM, readings=list(readings))
    s.commit()
    return rep


def screen(code, at, inhibition, market="M1"):
    return ReadingIn(method="ENZ-5009.199", raw=enz(inhibition), tested_at=at, market=market,
                     commodity="小白菜", sample_code=code)


def again(code, at, inhibition):
    return ReadingIn(method="ENZ-5009.199", raw=enz(inhibition), tested_at=at, sample_code=code)


def lab(code, at, value):   # chlorpyrifos in celery: MRL 0.05 mg/kg
    return ReadingIn(method="LAB-GCMS", raw={"value": value}, tested_at=at, sample_code=code,
                     analyte="毒死蜱")


def expected(s, *, start=None, end=None):
    """(market_id, week of the sample's first result) → [passed, failed, invalid], computed
    from the rows: per sample, of its recorded/accepted results the lab one, else the latest."""
    rapid = {m.id: m.is_rapid for m in s.exec(select(Method))}
    by_sample = defaultdict(list)
    for tr in s.exec(select(TestResult)):
        by_sample[tr.sample_id].append(tr)
    out = defaultdict(lambda: [0, 0, 0])
    for results in by_sample.values():
        day = min(r.local_date for r in results)
        ok = [r for r in results if r.status in COUNTED]
        if not ok or start and day < start or end and day > end:
            continue
        final = max(ok, key=lambda r: (not rapid[r.method_id], r.tested_at, r.id))
        p = Outcome(final.verdict).passes
        out[(final.market_id, day - timedelta(days=day.weekday()))][
            0 if p else 1 if p is False else 2] += 1
    return dict(out)


def trend(s, **kw):
    rows = stats.pass_rate_by_market_week(session=s, filters=stats.TrendFilter(**kw))
    return {(r["market_id"], r["week_start"]): (r["passed"], r["failed"]) for r in rows}


def assert_agree(s, **kw):
    assert rollups.check(session=s) == []
    want = {k: (v[0], v[1]) for k, v in expected(s, **kw).items()}
    assert trend(s, **kw) == want
    # the commodity filter reads the base table: the same answer
    coms = tuple({tr.commodity_id for tr in s.exec(select(TestResult))})
    assert trend(s, commodity_ids=coms, **kw) == want


def test_a_positive_screen_and_two_retests_count_once(world):
    s = world
    ingest(s, screen("S1", SAT, 70.0), screen("S2", SAT, 10.0))
    ingest(s, again("S1", SAT + timedelta(minutes=25), 65.0),
           again("S1", SAT + timedelta(minutes=50), 12.0))
    m1 = s.exec(select(Market.id).where(Market.code == "M1")).one()
    assert trend(s) == {(m1, WEEK): (2, 0)}         # two samples, the last re-test cleared S1
    flagged = s.exec(select(TestResult).where(TestResult.counts)).all()
    assert sorted(r.verdict for r in flagged) == ["negative", "negative"]
    assert_agree(s)
    (row,) = reports.breakdown(session=s, filters=stats.TrendFilter(), by="market")
    assert (row["tested"], row["passed"]) == (2, 2)
    figs = field_reads.running_figures(session=s, on=SAT.date(), market_id=m1)
    assert figs == {"negative": 2, "total": 2}
    board = market_board(session=s, market="M1", on=SAT.date())
    assert board.counts(board.week) == {"negative": 2}


def test_lab_negative_overrules_a_positive_screen_in_the_week_taken(world):
    s = world
    ingest(s, ReadingIn(method="ENZ-5009.199", raw=enz(80.0), tested_at=SAT, market="M1",
                        commodity="芹菜", sample_code="L1"))
    rep = ingest(s, lab("L1", SAT + timedelta(days=2), 0.01))           # compliant, next week
    release.release(session=s, actor=LAB2, result_id=rep.stored[0].result_id)   # counts now
    s.commit()
    ingest(s, again("L1", SAT + timedelta(days=3), 75.0))   # a later rapid re-test: lab still wins
    m1 = s.exec(select(Market.id).where(Market.code == "M1")).one()
    assert trend(s) == {(m1, WEEK): (1, 0)}          # counted as a pass, in the screen's week
    (final,) = s.exec(select(TestResult).where(TestResult.counts)).all()
    assert final.verdict == "compliant" and final.count_week == WEEK
    assert final.week_start == WEEK + timedelta(days=7)
    assert_agree(s)
    assert_agree(s, start=date(2026, 3, 7), end=date(2026, 3, 7))   # a one-day edge read
    # voiding the lab result: the latest rapid re-test decides again
    void_result(session=s, actor=SYSTEM, result_id=final.id, reason="wrong vial")
    s.commit()
    assert trend(s) == {(m1, WEEK): (0, 1)}
    assert_agree(s)
    last = s.exec(select(TestResult).order_by(TestResult.tested_at.desc())).first()
    assert last.counts and last.verdict == "positive"
    items = stats.commodity_analyte_breakdown(session=s, filters=stats.TrendFilter())
    assert [(r["analyte_id"], r["tested"], r["failed"]) for r in items] == [
        (last.analyte_id, 1, 1)]


def test_a_held_retest_counts_once_accepted(world):
    from lims.intake import review

    s = world
    ingest(s, screen("H1", SAT, 70.0))
    (tr,) = s.exec(select(TestResult)).all()
    ingest(s, again("H1", SAT + timedelta(minutes=30), 5.0))
    retest = s.exec(select(TestResult).where(TestResult.id != tr.id)).one()
    retest.status = "held"                # as the calibration gate would have held it
    s.add(retest)
    s.flush()
    rollups.refresh(session=s, keys=rollups.keys_of([retest]))
    s.commit()
    m1 = s.exec(select(Market.id).where(Market.code == "M1")).one()
    assert trend(s) == {(m1, WEEK): (0, 1)}          # the positive screen stands meanwhile
    review.accept(session=s, actor=SYSTEM, result_id=retest.id, reason="checked")
    s.commit()
    assert trend(s) == {(m1, WEEK): (1, 0)}
    assert_agree(s)


def test_random_samples_with_retests_and_labs(world):
    s = world
    rnd = random.Random(16)
    base = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
    screens, follow = [], []
    for i in range(60):
        at = base + timedelta(days=rnd.randrange(20), hours=rnd.randrange(10))
        code = f"R{i:03d}"
        inh = rnd.choice([5.0, 20.0, 45.0, 60.0, 85.0])
        screens.append(ReadingIn(method="ENZ-5009.199", raw=enz(inh), tested_at=at,
                                 market=rnd.choice(["M1", "M2"]), commodity="芹菜",
                                 sample_code=code))
        if inh >= 40:
            for k in range(rnd.choice([1, 2])):
                follow.append(again(code, at + timedelta(minutes=25 * (k + 1)),
                                    rnd.choice([10.0, 70.0])))
            if rnd.random() < 0.5:
                follow.append(lab(code, at + timedelta(days=rnd.randint(1, 4)),
                                  rnd.choice([0.01, 0.2])))
    ingest(s, *screens)
    ingest(s, *follow)
    assert len(s.exec(select(TestResult)).all()) > 60
    assert sum(p + f for p, f in trend(s).values()) + sum(
        v[2] for v in expected(s).values()) == 60
    assert_agree(s)
    for start, end in [(date(2026, 3, 4), date(2026, 3, 18)), (date(2026, 3, 9), None)]:
        assert_agree(s, start=start, end=end)
    n_samples = len(s.exec(select(Sample)).all())
    assert n_samples == 60
