"""Vendor credit grades: every rule with its reason, history, and the sampling plan."""

from datetime import timedelta

import pytest
from sqlmodel import select

from lims.enforcement import cases, confirmation, grades
from lims.enforcement.rules import load_grade_rules
from lims.field.stand import record_field_test
from lims.models import Vendor, VendorGradeHistory
from tests.lims.conftest import T0, TESTER

RULES = load_grade_rules()


def m(positives=0, refused=0, upheld=0, days=None, tests=5):
    return {"positives": positives, "refused_tests": refused, "objections_upheld": upheld,
            "days_since_last_positive": days, "tests": tests}


@pytest.mark.parametrize("metrics,grade,words", [
    (m(), "A", "clean record"),
    (m(positives=1, days=90), "B", "a positive in the window, not recent: positives = 1 (rule >= 1)"),
    (m(upheld=1), "B", "overturned on objection (kept under normal watch): objections_upheld = 1"),
    (m(positives=1, days=10), "C", "recent positive: positives = 1 (rule >= 1); "
                                   "days_since_last_positive = 10 (rule <= 30)"),
    (m(positives=2, days=100), "C", "two positives in the window"),
    (m(refused=1), "C", "refused testing: refused_tests = 1"),
    (m(positives=3, days=200), "D", "repeated positives: positives = 3"),
    (m(refused=2), "D", "refused testing repeatedly"),
    (m(positives=2, days=30), "D", "a second positive within 30 days"),
])
def test_each_grade_and_its_reason(metrics, grade, words):
    d = grades.decide_grade(metrics, RULES)
    assert d.grade == grade
    assert words in d.reason
    assert d.reason.startswith(f"{grade}:") and RULES.edition in d.reason


def card(session, stall, at, colour="unchanged", commodity="小白菜"):
    return record_field_test(session=session, actor=TESTER, market="M1", vendor_stall=stall,
                             commodity=commodity, card_colour=colour, tested_at=at)


def test_recompute_from_the_record(session, world):
    v = world["vendors"]
    now = T0 + timedelta(days=100)
    for d in (1, 40, 80):                      # A01: three positives → D
        card(session, "A01", T0 + timedelta(days=d))
    card(session, "A02", T0, colour="unchanged")  # A02: one positive, 100 days ago → B
    card(session, "A03", T0, colour="sky_blue")   # A03: clean → A
    grades.record_refusal(session=session, actor=TESTER, vendor_id=v["A04"].id,
                          at=T0 + timedelta(days=50), note="refused to hand over a sample")
    changes = {c.stall: c for c in grades.recompute_grades(session=session, actor=TESTER,
                                                           at=now)}
    session.commit()
    assert {s: c.grade for s, c in changes.items()} == {
        "A01": "D", "A02": "B", "A03": "A", "A04": "C", "B01": "A"}
    assert changes["A01"].metrics["positives"] == 3
    assert changes["A01"].metrics["days_since_last_positive"] == 20
    assert "refused testing" in changes["A04"].reason
    assert session.get(Vendor, v["A01"].id).credit_grade == "D"
    hist = grades.grade_history(session=session, vendor_id=v["A01"].id)
    assert hist[0].grade == "D" and hist[0].rules_edition == RULES.edition
    grade, reason = grades.current_grade(session=session, vendor_id=v["A01"].id)
    # the pipeline graded A01 D as its third positive came in; the recompute kept that decision
    assert grade == "D" and reason.startswith("D:") and "positive" in reason
    # recomputing with nothing new adds no history
    n = len(session.exec(select(VendorGradeHistory)).all())
    grades.recompute_grades(session=session, actor=TESTER, at=now)
    assert len(session.exec(select(VendorGradeHistory)).all()) == n


def test_overturned_positive_is_an_upheld_objection_not_a_positive(session, world):
    out = card(session, "A01", T0, colour="unchanged", commodity="芹菜")
    cid = out.case_id
    cases.notify_vendor(session=session, actor=TESTER, case_id=cid, at=T0)
    cases.lodge_objection(session=session, actor=TESTER, case_id=cid, at=T0 + timedelta(hours=1))
    confirmation.record_confirmatory(session=session, actor=TESTER, case_id=cid, method="LAB-GCMS",
                              analyte="毒死蜱", value=0.001, tested_at=T0 + timedelta(days=1))
    assert cases.case_view(session=session, case_id=cid).outcome == "overturned"
    (c,) = grades.recompute_grades(session=session, actor=TESTER, at=T0 + timedelta(days=60),
                                   vendor_ids=[world["vendors"]["A01"].id])
    assert c.metrics["positives"] == 0 and c.metrics["objections_upheld"] == 1
    assert c.grade == "B"


def test_d_vendors_are_sampled_more(session, world):
    v = world["vendors"]
    card(session, "A01", T0, colour="sky_blue")   # a field test regrades A01 (clean: A) …
    assert session.get(Vendor, v["A01"].id).credit_grade == "A"
    v["A01"].credit_grade = "D"                    # … then grades set as a rules edit would
    v["A02"].credit_grade = "C"
    session.add_all([v["A01"], v["A02"]])
    plan = grades.sampling_plan(session=session, market_id=world["m1"].id, on=T0.date())
    assert plan[0].stall == "A01" and plan[0].grade == "D"
    assert plan[0].per_month == RULES.per_month["D"] > RULES.per_month["A"]
    assert plan[0].tested_this_month == 1 and plan[0].due == RULES.per_month["D"] - 1
    assert [p.grade for p in plan] == ["D", "C", "A", "A"]
