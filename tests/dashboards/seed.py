"""Small, deterministic data sets for the app's tests (written straight through the models and
the ingest service, so they do not depend on the demo loader)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import CalibrationRecord, GridGroup, Instrument, Market, Vendor
from lims.security.auth import SYSTEM
from tests.conftest import TZ


def one_market(session: Session) -> Market:
    m = Market(code="M1", name="东门农贸市场", county="城关区", kind="farmers")
    session.add(m)
    session.flush()
    session.add(Vendor(market_id=m.id, stall="A01", name="张记蔬菜", credit_grade="B"))
    session.commit()
    return m


def small_demo(session: Session, *, until: date, weeks: int = 10, seed: int = 7) -> dict:
    """Two counties, four markets (one much worse than the others), vendors, two analyzers (one
    overdue), an outreach event, and enzyme results over ``weeks`` weeks up to ``until``."""
    rng = random.Random(seed)
    g = GridGroup(name="第一网格", county="城关区", staff=["李明"])
    session.add(g)
    session.flush()
    markets = [
        Market(code="CG-01", name="东门农贸市场", county="城关区", kind="farmers", grid_group_id=g.id),
        Market(code="CG-02", name="西关批发市场", county="城关区", kind="wholesale", grid_group_id=g.id),
        Market(code="HX-01", name="河西超市", county="河西县", kind="supermarket"),
        Market(code="HX-02", name="河西夜市", county="河西县", kind="night_market"),
    ]
    session.add_all(markets)
    session.flush()
    for m in markets:
        for i, grade in enumerate("ABCD", start=1):
            session.add(Vendor(market_id=m.id, stall=f"{m.code[-2:]}-{i:02d}",
                               name=f"经营户{i}", credit_grade=grade))
    good = Instrument(serial_no="ENZ-0001", model="RP-12 农残检测仪", kind="pesticide_analyzer",
                      driver="profile", profile="enzyme_12ch", market_id=markets[0].id)
    old = Instrument(serial_no="ENZ-0002", model="RP-12 农残检测仪", kind="pesticide_analyzer",
                     driver="profile", profile="enzyme_12ch", market_id=markets[2].id)
    session.add_all([good, old])
    session.flush()
    start = until - timedelta(weeks=weeks)
    at0 = datetime.combine(start - timedelta(days=30), time(9), tzinfo=TZ)
    session.add(CalibrationRecord(instrument_id=good.id, kind="verification", performed_at=at0,
                                  performed_by="lab", outcome="pass",
                                  due_date=until + timedelta(days=300)))
    session.add(CalibrationRecord(instrument_id=old.id, kind="verification", performed_at=at0,
                                  performed_by="lab", outcome="pass",
                                  due_date=until - timedelta(days=3)))
    session.commit()

    commodities = ["芹菜", "韭菜", "豇豆", "菠菜"]
    fail_p = {"CG-01": 0.03, "CG-02": 0.05, "HX-01": 0.02, "HX-02": 0.08}
    readings = []
    day = start
    while day <= until:
        for m in markets:
            p = fail_p[m.code]
            if m.code == "HX-02" and (until - day).days < 10:
                p = 0.45  # a recent spike: the p-chart must flag it
            for k in range(6):
                bad = rng.random() < p
                inst = good if m.code.startswith("CG") else old
                at = datetime.combine(day, time(8 + k), tzinfo=TZ)
                readings.append(ReadingIn(
                    method="ENZ-5009.199", tested_at=at, market=m.code,
                    vendor_stall=f"{m.code[-2:]}-{rng.randint(1, 4):02d}",
                    commodity=rng.choice(commodities), instrument_serial=inst.serial_no,
                    raw={"control_delta": 0.32, "sample_delta": 0.1 if bad else 0.3},
                    tested_by="seed", source="demo"))
        day += timedelta(days=1)
    report = accept_readings(session=session, actor=SYSTEM, readings=readings)
    session.commit()
    extra = workflows(session, markets[0], good, until)
    return {"markets": markets, "results": report.created,
            "instruments": [good.serial_no, old.serial_no], **extra}


def workflows(session: Session, market: Market, instrument: Instrument, until: date) -> dict:
    """What the other areas add on top: a team and event, a positive with its case and alert,
    a QC series with a Westgard violation."""
    from lims.enforcement import alerts
    from lims.field import stand as sampling
    from lims.metrology import calibration
    from lims.outreach import events

    boss = SYSTEM
    team = events.create_team(session=session, actor=boss, name="红马甲志愿服务队", county="城关区")
    vol = events.add_volunteer(session=session, actor=boss, team_id=team.id, name="王芳")
    ev = events.create_event(session=session, actor=boss, name="进社区快检", kind="community",
                             starts_at=datetime.combine(until, time(9), tzinfo=TZ),
                             team_ids=[team.id], place="幸福社区", county="城关区",
                             market_id=market.id, people_served=80, talks_given=2)
    events.record_service(session=session, actor=boss, event_id=ev.id, volunteer_id=vol.id,
                          hours=3.5)
    # the positive is from 07:00 on the last day, before the tests' pinned clock (18:00) and
    # never in the future, so its case steps can follow "now"
    at = datetime.combine(until, time(7), tzinfo=TZ)
    pos = sampling.record_field_test(session=session, actor=boss, commodity="韭菜",
                                     market=market.code, vendor_stall="01-04",
                                     card_colour="unchanged", tested_at=at)
    if pos.alert_id:
        alerts.arrive(session=session, actor=boss, alert_id=pos.alert_id,
                      at=at + timedelta(minutes=8))
    qc_at = datetime.combine(until - timedelta(days=30), time(8), tzinfo=TZ)
    base = [0.50, 0.52, 0.49, 0.51, 0.50, 0.48, 0.52, 0.50, 0.49, 0.51, 0.50, 0.50, 0.51,
            0.49, 0.50, 0.52, 0.48, 0.50, 0.51, 0.49]
    calibration.add_qc_values(session=session, actor=boss, serial_no=instrument.serial_no,
                              values=[(qc_at + timedelta(hours=i), v) for i, v in enumerate(base)],
                              baseline=True)
    later = [0.50, 0.51, 0.49, 0.58, 0.50]  # 0.58 is beyond 3 SD: a 1-3s rejection
    calibration.add_qc_values(session=session, actor=boss, serial_no=instrument.serial_no,
                              values=[(qc_at + timedelta(days=d + 1), v)
                                      for d, v in enumerate(later)])
    session.commit()
    return {"event_id": ev.id, "positive_code": pos.sample_code, "case_id": pos.case_id}
