"""Case handling scored per grid group and month: on time, late, lacking evidence, open."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from lims.enforcement.scoring import HandlingRule, handling_report, load_handling_rule, score_case
from lims.models import (
    Alert,
    Commodity,
    EnforcementCase,
    GridGroup,
    Market,
    Method,
    Sample,
    TestResult,
)
from tests.conftest import TZ

OPENED = datetime(2026, 5, 6, 10, 0, tzinfo=TZ)
RULE = HandlingRule(close_within=timedelta(hours=24), source="test", confirmed=False)


def case(**kw) -> EnforcementCase:
    base = {"result_id": 1, "sample_id": 1, "commodity_id": 1, "opened_at": OPENED,
            "opened_by": "t", "objection_window_hours": 4, "objection_rule": "art. 88"}
    return EnforcementCase(**{**base, **kw})


def alert(arrive_after_min: float | None) -> Alert:
    return Alert(result_id=1, level="positive", raised_at=OPENED, target_minutes=10,
                 arrived_at=None if arrive_after_min is None
                 else OPENED + timedelta(minutes=arrive_after_min))


@pytest.mark.parametrize(("kw", "arrive", "expected"), [
    ({"status": "closed", "outcome": "confirmed", "disposal": "destroyed",
      "closed_at": OPENED + timedelta(hours=5)}, 8, "on_time"),
    ({"status": "closed", "outcome": "confirmed", "disposal": "destroyed",
      "closed_at": OPENED + timedelta(hours=5)}, 25, "late"),          # arrived late
    ({"status": "closed", "outcome": "confirmed", "disposal": "destroyed",
      "closed_at": OPENED + timedelta(hours=30)}, 8, "late"),          # closed late
    ({"status": "closed", "outcome": "confirmed", "disposal": "",
      "closed_at": OPENED + timedelta(hours=2)}, 8, "lacking_evidence"),
    ({"status": "closed", "outcome": "overturned", "disposal": "",
      "closed_at": OPENED + timedelta(hours=2)}, 8, "on_time"),        # nothing to dispose of
    ({"status": "closed", "outcome": "confirmed", "disposal": "destroyed",
      "closed_at": OPENED + timedelta(hours=2)}, None, "late"),        # nobody recorded arrival
    ({"status": "open"}, 8, "open"),
])
def test_score_case(kw, arrive, expected):
    at = OPENED + timedelta(hours=12)
    assert score_case(case(**kw), alert(arrive), RULE, at) == expected


def test_an_open_case_past_its_deadline_is_late():
    assert score_case(case(status="open"), alert(5), RULE, OPENED + timedelta(hours=24, seconds=1)) \
        == "late"
    assert score_case(case(status="open"), alert(5), RULE, OPENED + timedelta(hours=24)) == "open"


def test_the_rule_ships_with_its_source_and_is_marked_unconfirmed():
    rule = load_handling_rule()
    assert rule.close_within == timedelta(hours=24) and rule.source and not rule.confirmed


def test_report_per_grid_group_and_month(session: Session):
    g1, g2 = GridGroup(name="东", county="c"), GridGroup(name="西", county="c")
    session.add_all([g1, g2])
    session.flush()
    m1 = Market(code="M1", name="m1", county="c", kind="farmers", grid_group_id=g1.id)
    m2 = Market(code="M2", name="m2", county="c", kind="farmers", grid_group_id=g2.id)
    session.add_all([m1, m2])
    session.flush()
    com = session.exec(select(Commodity)).first()
    method = session.exec(select(Method).where(Method.code == "ENZ-5009.199")).one()
    plans = [(m1, OPENED, "destroyed", 5, 8), (m1, OPENED + timedelta(days=1), "", 5, 8),
             (m2, OPENED, "destroyed", 30, 8), (m1, OPENED + timedelta(days=30), "destroyed",
                                                 5, 8)]
    for i, (market, opened, disposal, close_h, arrive_min) in enumerate(plans):
        s = Sample(code=f"S{i}", market_id=market.id, commodity_id=com.id, taken_at=opened)
        session.add(s)
        session.flush()
        r = TestResult(sample_id=s.id, method_id=method.id, commodity_id=com.id,
                       market_id=market.id, tested_at=opened, verdict="positive",
                       ingest_key=f"k{i}", local_date=opened.date(),
                       week_start=opened.date() - timedelta(days=opened.weekday()))
        session.add(r)
        session.flush()
        session.add(EnforcementCase(result_id=r.id, sample_id=s.id, market_id=market.id,
                                    commodity_id=com.id, opened_at=opened, opened_by="t",
                                    objection_window_hours=4, objection_rule="art. 88",
                                    status="closed", outcome="confirmed", disposal=disposal,
                                    closed_at=opened + timedelta(hours=close_h)))
        session.add(Alert(result_id=r.id, market_id=market.id, grid_group_id=market.grid_group_id,
                          level="positive", raised_at=opened, target_minutes=10,
                          arrived_at=opened + timedelta(minutes=arrive_min)))
    session.commit()
    rows = {(r.grid_group, r.month): r for r in handling_report(session=session, year=2026,
                                                                 rule=RULE)}
    assert set(rows) == {("东", "2026-05"), ("西", "2026-05"), ("东", "2026-06")}
    east = rows[("东", "2026-05")]
    assert (east.cases, east.on_time, east.lacking_evidence, east.late) == (2, 1, 1, 0)
    assert east.share_on_time == 0.5
    west = rows[("西", "2026-05")]
    assert (west.late, west.share_on_time) == (1, 0.0)
    assert rows[("东", "2026-06")].on_time == 1
