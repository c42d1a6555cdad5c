"""Small, deterministic data sets for the app's tests (written straight through the models and
the ingest service, so they do not depend on the demo loader)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from lims.models import CalibrationRecord, GridGroup, Instrument, Market, OutreachEvent, Vendor
from lims.services.ingest import ReadingIn, ingest
from lims.timeutil import DEFAULT_TZ


def one_market(session: Session) -> Market:
    m = Market(code="M1", name="东门农贸市场", county="城关区", kind="farmers")
    session.add(m)
    session.flush()
    session.add(Vendor(market_id=m.id, stall="A01", name="张记蔬菜", credit_grade="B"))
    session.commit()
    return m


def small_demo(session: Session, *, weeks: int = 10, until: date | None = None,
               seed: int = 7) -> dict:
    """Two counties, four markets (one much worse than the others), vendors, two analyzers (one
    overdue), an outreach event, and enzyme results over ``weeks`` weeks up to ``until``."""
    rng = random.Random(seed)
    until = until or datetime.now(DEFAULT_TZ).date()
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
    at0 = datetime.combine(start - timedelta(days=30), time(9), tzinfo=DEFAULT_TZ)
    session.add(CalibrationRecord(instrument_id=good.id, kind="verification", performed_at=at0,
                                  performed_by="lab", outcome="pass",
                                  due_date=until + timedelta(days=300)))
    session.add(CalibrationRecord(instrument_id=old.id, kind="verification", performed_at=at0,
                                  performed_by="lab", outcome="pass",
                                  due_date=until - timedelta(days=3)))
    ev = OutreachEvent(name="进社区快检", kind="community", place="幸福社区", county="城关区",
                       market_id=markets[0].id, team="红马甲",
                       starts_at=datetime.combine(until, time(9), tzinfo=DEFAULT_TZ),
                       people_served=80, talks_given=2)
    session.add(ev)
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
                at = datetime.combine(day, time(8 + k), tzinfo=DEFAULT_TZ)
                readings.append(ReadingIn(
                    method="ENZ-5009.199", tested_at=at, market=m.code,
                    vendor_stall=f"{m.code[-2:]}-{rng.randint(1, 4):02d}",
                    commodity=rng.choice(commodities), instrument_serial=inst.serial_no,
                    raw={"control_delta": 0.32, "sample_delta": 0.1 if bad else 0.3},
                    tested_by="seed", source="demo"))
        day += timedelta(days=1)
    report = ingest(session=session, readings=readings)
    session.commit()
    return {"markets": markets, "event_id": ev.id, "results": report.created,
            "instruments": [good.serial_no, old.serial_no]}
