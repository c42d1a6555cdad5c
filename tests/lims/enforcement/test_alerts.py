"""Alerts to the market's grid group and the response-time report against the 10-minute target."""

import statistics
from datetime import timedelta

import pytest
from sqlmodel import select

from lims.enforcement import alerts
from lims.errors import ValidationFailed
from lims.field.stand import record_field_test
from tests.lims.conftest import T0, TESTER


def alert_at(session, at, market="M1", stall="A01", colour="unchanged"):
    out = record_field_test(session=session, actor=TESTER, market=market, vendor_stall=stall,
                            commodity="小白菜", card_colour=colour, tested_at=at)
    assert out.alert_id is not None
    return out.alert_id


def test_positive_alerts_its_markets_grid_group(session, world):
    aid = alert_at(session, T0)
    a = alerts.list_alerts(session=session, grid_group_id=world["g1"].id)[0]
    assert a.id == aid and a.level == "positive" and a.target_minutes == 10.0
    assert a.raised_at == T0 and a.market_id == world["m1"].id
    with pytest.raises(ValidationFailed, match="before the alert was raised"):
        alerts.arrive(session=session, actor=TESTER, alert_id=aid, at=T0 - timedelta(minutes=1))
    alerts.arrive(session=session, actor=TESTER, alert_id=aid, at=T0 + timedelta(minutes=7))
    assert a.acknowledged_at == T0 + timedelta(minutes=7)  # arrival acknowledges too
    with pytest.raises(ValidationFailed, match="already recorded"):
        alerts.arrive(session=session, actor=TESTER, alert_id=aid, at=T0 + timedelta(minutes=8))
    assert alerts.list_alerts(session=session, open_only=True) == []


def test_response_report_per_group_and_month(session, world):
    # group 1, May: arrivals after 5, 10 (exactly the target: within), 12 min, and one never
    arrivals = [5, 10, 12, None]
    for i, minutes in enumerate(arrivals):
        raised = T0 + timedelta(hours=i)
        aid = alert_at(session, raised, stall=f"A0{i + 1}")
        alerts.acknowledge(session=session, actor=TESTER, alert_id=aid,
                           at=raised + timedelta(minutes=2))
        if minutes is not None:
            alerts.arrive(session=session, actor=TESTER, alert_id=aid,
                          at=raised + timedelta(minutes=minutes))
    # group 2, June: one alert, 25 min
    june = T0 + timedelta(days=30)
    aid = alert_at(session, june, market="M2", stall="B01")
    alerts.arrive(session=session, actor=TESTER, alert_id=aid, at=june + timedelta(minutes=25))
    session.commit()

    rows = alerts.response_report(session=session, month="2026-05")
    assert len(rows) == 1
    r = rows[0]
    assert (r.grid_group, r.month, r.alerts, r.arrived, r.acknowledged) == (
        "城东网格", "2026-05", 4, 3, 4)
    assert r.within_target == 2
    assert r.share_within_target == pytest.approx(2 / 4)
    assert r.median_minutes == pytest.approx(statistics.median([5, 10, 12]))
    assert r.worst_minutes == pytest.approx(12)
    assert r.median_ack_minutes == pytest.approx(2)
    everything = alerts.response_report(session=session, year=2026)
    assert [(x.grid_group, x.month, x.within_target, x.worst_minutes) for x in everything] == [
        ("城东网格", "2026-05", 2, 12.0), ("城西网格", "2026-06", 0, 25.0)]
    with pytest.raises(ValidationFailed, match="YYYY-MM"):
        alerts.response_report(session=session, month="May")


def test_suspicious_alerts_but_opens_no_case(session, world):
    out = record_field_test(session=session, actor=TESTER, market="M1", vendor_stall="A01",
                            commodity="小白菜", method="ENZ-5009.199",
                            reading={"control_delta": 0.40, "sample_delta": 0.22}, tested_at=T0)
    assert out.verdict == "suspicious"   # 45 % inhibition: in the 40–50 % band
    assert out.alert_id is not None and out.case_id is None


def test_pipeline_follows_up_at_once_and_the_sweep_repairs_what_is_missing(session, world):
    from lims.enforcement.followup import follow_up_pending
    from lims.intake.pipeline import ReadingIn, accept_readings
    from lims.models import Alert, CaseStep, EnforcementCase
    from lims.security.auth import SYSTEM

    def card(colour, minute):
        return ReadingIn(method="ENZ-CARD", raw={"colour": colour}, market="M1",
                         vendor_stall="A01", commodity="小白菜",
                         tested_at=T0 + timedelta(minutes=minute))

    rep = accept_readings(session=session, actor=SYSTEM, readings=[
        card("unchanged", 0), card("sky_blue", 1), card("unchanged", 2)])
    positives = {rep.stored[0].result_id, rep.stored[2].result_id}
    assert {s.result_id for s in rep.stored if s.case_id and s.alert_id} == positives
    # a rapid re-test of the first sample is no new screen: nothing new to follow up
    retest = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-CARD", raw={"colour": "unchanged"}, tested_at=T0 + timedelta(minutes=30),
        sample_code=rep.stored[0].sample_code)])
    assert retest.stored[0].case_id is None and retest.stored[0].alert_id is None
    nothing = follow_up_pending(session=session, actor=TESTER)
    assert nothing.case_ids == {} and nothing.alert_ids == {}
    # results stored before the pipeline followed up (an older version): the sweep repairs them
    for model in (CaseStep, Alert, EnforcementCase):
        for row in session.exec(select(model)):
            session.delete(row)
    session.flush()
    fu = follow_up_pending(session=session, actor=TESTER)
    assert set(fu.case_ids) == positives and set(fu.alert_ids) == positives
    again = follow_up_pending(session=session, actor=TESTER)
    assert again.case_ids == {} and again.alert_ids == {}
