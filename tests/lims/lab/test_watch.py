"""Agreement per kit lot and instrument, and the lab alert when a lot misses too many positives
(issue 19, ``lims.lab.watch``)."""

from datetime import date, timedelta

from sqlmodel import select

from lims.intake.pipeline import ReadingIn, accept_readings
from lims.lab import watch
from lims.models import Kit, KitLot, LabAlert, Method
from lims.reporting.agreement import agreement_report
from lims.security.auth import SYSTEM
from tests.lims.conftest import T0, release_waiting


def _lots(session):
    method = session.exec(select(Method).where(Method.code == "ENZ-CARD")).one()
    kit = Kit(code="CARD-K", name="速测卡", method_id=method.id)
    session.add(kit)
    session.flush()
    lots = {name: KitLot(kit_id=kit.id, lot=name, expires_on=date(2027, 1, 1))
            for name in ("L1", "L2")}
    session.add_all(lots.values())
    session.commit()
    return lots


def _screen_and_confirm(session, plan, start=0):
    """plan: (lot, rapid card colour, lab chlorpyrifos mg/kg on celery; MRL 0.05)."""
    rep = accept_readings(session=session, actor=SYSTEM, readings=[
        ReadingIn(method="ENZ-CARD", raw={"colour": colour}, market="M1", vendor_stall="A01",
                  commodity="芹菜", kit_lot=lot, tested_at=T0 + timedelta(minutes=start + i))
        for i, (lot, colour, _v) in enumerate(plan)])
    accept_readings(session=session, actor=SYSTEM, readings=[
        ReadingIn(method="LAB-GCMS", raw={"value": v}, analyte="毒死蜱",
                  tested_at=T0 + timedelta(days=1, minutes=start + i),
                  sample_code=st.sample_code, retest_of_id=st.result_id, source="confirmatory")
        for i, ((_l, _c, v), st) in enumerate(zip(plan, rep.stored, strict=True))])
    release_waiting(session)   # a second person releases the lab results: now they count
    session.commit()


# L1: 5 lab positives, 2 screened negative (sky blue) → false-negative rate 40 %;
# L2: 5 lab positives, all caught, and 2 lab negatives
PLAN = ([("L1", "unchanged", 0.2)] * 3 + [("L1", "sky_blue", 0.2)] * 2
        + [("L2", "unchanged", 0.2)] * 5 + [("L2", "sky_blue", 0.01)] * 2)


def test_agreement_per_lot_and_instrument(session, world):
    lots = _lots(session)
    _screen_and_confirm(session, PLAN)
    rows = {r.group: r for r in agreement_report(session=session, method="ENZ-CARD", by="lot")}
    assert set(rows) == {"CARD-K/L1", "CARD-K/L2"}
    l1, l2 = rows["CARD-K/L1"], rows["CARD-K/L2"]
    assert (l1.stats.n11, l1.stats.n12, l1.stats.n21, l1.stats.n22) == (3, 2, 0, 0)
    assert (l2.stats.n11, l2.stats.n12, l2.stats.n21, l2.stats.n22) == (5, 0, 0, 2)
    assert l1.kit_lot_id == lots["L1"].id and l1.flags and not l2.flags
    (whole,) = agreement_report(session=session, method="ENZ-CARD")
    assert whole.pairs == 12 and whole.stats.n12 == 2
    (none,) = agreement_report(session=session, method="ENZ-CARD", by="instrument")
    assert none.group == "" and none.instrument_id is None and none.pairs == 12


def test_a_lot_over_the_limit_raises_one_alert(session, world):
    lots = _lots(session)
    _screen_and_confirm(session, PLAN)   # the pipeline checks the lots after the lab results
    alerts = session.exec(select(LabAlert)).all()
    assert [(a.kind, a.subject, a.kit_lot_id) for a in alerts] == \
        [(watch.KIND_LOT_FNR, f"kit_lot:{lots['L1'].id}", lots["L1"].id)]
    assert alerts[0].details["false_negatives"] == 2 and alerts[0].details["lab_positives"] == 5
    assert "40.0%" in alerts[0].message
    # checking again, and another missed positive of the same lot, do not raise it again
    assert watch.check_lots(session=session, actor=SYSTEM) == []
    _screen_and_confirm(session, [("L1", "sky_blue", 0.3)], start=100)
    assert len(session.exec(select(LabAlert)).all()) == 1
    # acknowledged, it leaves the open list
    watch.acknowledge(session=session, actor=SYSTEM, alert_id=alerts[0].id)
    assert watch.list_alerts(session=session, open_only=True) == []


def test_too_few_lab_positives_are_not_judged(session, world):
    _lots(session)
    _screen_and_confirm(session, [("L1", "sky_blue", 0.2)] * 2 + [("L1", "unchanged", 0.2)] * 2)
    states = watch.lot_states(session=session)
    assert [(x.false_negatives, x.lab_positives, x.over) for x in states] == [(2, 4, False)]
    assert session.exec(select(LabAlert)).all() == []
    assert len(watch.check_lots(session=session, actor=SYSTEM, min_lab_positives=4)) == 1
