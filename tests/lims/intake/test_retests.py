"""Re-test before a positive is final (issue 14) and held results (issue 16).

GB/T 5009.199 re-tests a positive at least twice: a single ≥ 50 % enzyme reading leaves its
sample "re-test pending" and opens nothing; two confirming re-tests open the case and raise the
alert; a re-test that does not confirm closes it as not confirmed. A held result opens nothing
until a technician accepts it. Both backends (the ``session`` fixture)."""

from datetime import date, timedelta

import pytest
from sqlmodel import func, select

from lims.enforcement import followup
from lims.errors import ConfigError
from lims.intake import retests, review
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import (
    Alert,
    AuditEvent,
    CalibrationRecord,
    EnforcementCase,
    Instrument,
    Method,
    Sample,
    TestResult,
)
from lims.models.enums import Role
from lims.security.auth import Actor
from tests.lims.conftest import T0, TESTER

TECH = Actor("wang.tech", Role.LAB_TECHNICIAN)
POS = {"control_delta": 0.40, "sample_delta": 0.10}   # 75 % → positive
POS2 = {"control_delta": 0.40, "sample_delta": 0.12}  # 70 % → positive
NEG = {"control_delta": 0.40, "sample_delta": 0.35}   # 12.5 % → negative
BAD = {"control_delta": 0.20, "sample_delta": 0.15}   # weak control → invalid


def enzyme(raw, at, *, code=None, serial=None, stall="A01"):
    return ReadingIn(method="ENZ-5009.199", raw=dict(raw), tested_at=at, sample_code=code,
                     market="M1",
                     vendor_stall=stall, commodity="小白菜", instrument_serial=serial,
                     channel="3" if serial else None)


def screen(session, raw=POS, **kw):
    rep = accept_readings(session=session, actor=TESTER, readings=[enzyme(raw, T0, **kw)])
    session.commit()
    return rep.stored[0]


def retest(session, code, raw, minutes, serial=None):
    rep = accept_readings(session=session, actor=TESTER, readings=[ReadingIn(
        method="ENZ-5009.199", raw=dict(raw), tested_at=T0 + timedelta(minutes=minutes),
        sample_code=code, instrument_serial=serial, channel="3" if serial else None)])
    session.commit()
    return rep.stored[0]


def counts(session):
    return (session.exec(select(func.count()).select_from(EnforcementCase)).one(),
            session.exec(select(func.count()).select_from(Alert)).one())


def audits(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_single_positive_opens_nothing_and_is_pending(session, world):
    s = screen(session)
    assert s.verdict.outcome.value == "positive"
    assert s.case_id is None and s.alert_id is None
    assert counts(session) == (0, 0)
    st = retests.status(session=session, sample_code=s.sample_code)
    assert (st.state, st.required, st.confirming, st.remaining) == ("pending", 2, 0, 2)
    assert "待复检" in st.label_zh and "2" in st.label_zh and "pending" in st.label_en
    assert [p.sample_code for p in retests.pending(session=session)] == [s.sample_code]
    (ev,) = audits(session, "sample.retest_pending")
    assert ev.new["retests_required"] == 2 and ev.new["screen_id"] == s.result_id
    # the sweep does not open it either
    followup.follow_up_pending(session=session, actor=TESTER)
    assert counts(session) == (0, 0)


def test_two_confirming_retests_open_case_and_alert(session, world):
    s = screen(session)
    r1 = retest(session, s.sample_code, POS2, 20)
    assert r1.case_id is None and counts(session) == (0, 0)
    st = retests.status(session=session, sample_code=s.sample_code)
    assert (st.state, st.confirming, st.remaining) == ("pending", 1, 1)
    r2 = retest(session, s.sample_code, POS, 45)
    assert counts(session) == (1, 1)
    case = session.exec(select(EnforcementCase)).one()
    alert = session.exec(select(Alert)).one()
    assert case.result_id == s.result_id and alert.result_id == s.result_id
    assert r2.case_id == case.id and r2.alert_id == alert.id
    # the clock starts when the positive became final, not at the first screen
    assert case.opened_at == T0 + timedelta(minutes=45) == alert.raised_at
    assert case.vendor_id == world["vendors"]["A01"].id
    tr = session.get(TestResult, r2.result_id)
    assert tr.retest_of_id == s.result_id
    st = retests.status(session=session, sample_code=s.sample_code)
    assert (st.state, st.remaining, st.deciding_result_id) == ("confirmed", 0, r2.result_id)
    assert len(audits(session, "sample.retest_confirmed")) == 1
    assert retests.pending(session=session) == []
    # a third reading changes nothing, and nothing opens twice
    retest(session, s.sample_code, NEG, 70)
    assert counts(session) == (1, 1)
    assert session.exec(select(Sample)).one().retest_state == "confirmed"


def test_non_confirming_retest_closes_as_not_confirmed(session, world):
    s = screen(session)
    retest(session, s.sample_code, POS2, 20)
    r2 = retest(session, s.sample_code, NEG, 45)
    assert r2.case_id is None and r2.alert_id is None
    assert counts(session) == (0, 0)
    st = retests.status(session=session, sample_code=s.sample_code)
    assert (st.state, st.remaining, st.deciding_result_id) == ("not_confirmed", 0, r2.result_id)
    (ev,) = audits(session, "sample.retest_not_confirmed")
    assert ev.new["deciding_result_id"] == r2.result_id and "not confirmed" in ev.reason
    # a later positive re-test does not reopen it; the sweep opens nothing
    retest(session, s.sample_code, POS, 70)
    followup.follow_up_pending(session=session, actor=TESTER)
    assert counts(session) == (0, 0)
    assert session.exec(select(Sample)).one().retest_state == "not_confirmed"


def test_invalid_retest_decides_nothing(session, world):
    s = screen(session)
    r = retest(session, s.sample_code, BAD, 20)
    assert r.verdict.outcome.value == "invalid"
    st = retests.status(session=session, sample_code=s.sample_code)
    assert (st.state, st.remaining) == ("pending", 2)
    retest(session, s.sample_code, POS, 30)
    retest(session, s.sample_code, POS2, 40)
    assert counts(session) == (1, 1)


def test_screen_and_retests_in_one_batch(session, world):
    code = "RT000001"
    rep = accept_readings(session=session, actor=TESTER, readings=[
        enzyme(POS, T0, code=code), enzyme(POS2, T0 + timedelta(minutes=20), code=code),
        enzyme(POS, T0 + timedelta(minutes=40), code=code)])
    session.commit()
    assert counts(session) == (1, 1)
    assert rep.stored[0].case_id == rep.stored[2].case_id is not None
    assert retests.status(session=session, sample_code=code).state == "confirmed"


def test_card_opens_at_once_and_parameter_is_per_method(session, world):
    rep = accept_readings(session=session, actor=TESTER, readings=[ReadingIn(
        method="ENZ-CARD", raw={"colour": "unchanged"}, tested_at=T0, market="M1",
        vendor_stall="A02", commodity="韭菜")])
    session.commit()
    assert rep.stored[0].case_id is not None and counts(session) == (1, 1)
    assert retests.status(session=session, sample_code=rep.stored[0].sample_code).state is None
    # the enzyme method edited to no re-test: its positive is final at once
    m = session.exec(select(Method).where(Method.code == "ENZ-5009.199")).one()
    m.params = {**m.params, "retests_for_positive": 0}
    session.add(m)
    session.commit()
    assert screen(session, stall="A03").case_id is not None
    assert counts(session) == (2, 2)


def test_parameter_checked_and_defaulted():
    m = Method(code="X", name_zh="x", name_en="x", standard="s", edition="1",
               kind="enzyme_inhibition", is_rapid=True, params={})
    assert retests.retests_required(m) == 2       # stored before the parameter existed
    m.params = {"retests_for_positive": 3}
    assert retests.retests_required(m) == 3
    m.params = {"retests_for_positive": -1}
    with pytest.raises(ConfigError, match="retests_for_positive"):
        retests.retests_required(m)
    assert retests.check_param({"retests_for_positive": 1.5})
    m.kind, m.params = "colloidal_gold", {}
    assert retests.retests_required(m) == 0


@pytest.fixture
def lapsed(session, world):
    late = Instrument(serial_no="SN-LATE", model="RP-12", kind="pesticide_analyzer",
                      driver="profile")
    session.add(late)
    session.flush()
    session.add(CalibrationRecord(instrument_id=late.id, kind="verification",
                                  performed_at=T0 - timedelta(days=400), performed_by="tech",
                                  outcome="pass", due_date=date(2026, 4, 6)))
    session.commit()
    return late


def test_held_screen_opens_nothing_until_accepted(session, lapsed):
    s = screen(session, serial="SN-LATE")
    assert s.status == "held" and s.verdict.outcome.value == "positive"
    r1 = retest(session, s.sample_code, POS2, 20, serial="SN-LATE")
    r2 = retest(session, s.sample_code, POS, 40, serial="SN-LATE")
    assert counts(session) == (0, 0)
    followup.follow_up_pending(session=session, actor=TESTER)
    assert counts(session) == (0, 0)
    assert retests.status(session=session, sample_code=s.sample_code).state is None
    review.accept(session=session, actor=TECH, result_id=s.result_id, reason="check passed")
    session.commit()
    # the screen counts now; its held re-tests do not yet
    assert counts(session) == (0, 0)
    st = retests.status(session=session, sample_code=s.sample_code)
    assert (st.state, st.remaining) == ("pending", 2)
    review.accept(session=session, actor=TECH, result_id=r1.result_id, reason="check passed")
    assert counts(session) == (0, 0)
    review.accept(session=session, actor=TECH, result_id=r2.result_id, reason="check passed")
    session.commit()
    assert counts(session) == (1, 1)
    case = session.exec(select(EnforcementCase)).one()
    assert case.result_id == s.result_id and case.opened_at == T0 + timedelta(minutes=40)


def test_held_card_positive_and_suspicious_wait_for_review(session, lapsed):
    rep = accept_readings(session=session, actor=TESTER, readings=[
        enzyme({"control_delta": 0.40, "sample_delta": 0.22}, T0, serial="SN-LATE")])  # 45 %
    session.commit()
    susp = rep.stored[0]
    assert susp.status == "held" and susp.verdict.outcome.value == "suspicious"
    assert counts(session) == (0, 0)
    review.accept(session=session, actor=TECH, result_id=susp.result_id, reason="ok")
    session.commit()
    assert counts(session) == (0, 1)
    # a held result voided never opens anything
    other = screen(session, serial="SN-LATE", stall="A02")
    review.void(session=session, actor=TECH, result_id=other.result_id, reason="bad run")
    followup.follow_up_pending(session=session, actor=TESTER)
    session.commit()
    assert counts(session) == (0, 1)
