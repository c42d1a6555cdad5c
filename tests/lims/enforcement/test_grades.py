"""Vendor credit grades: every rule with its reason, history, and the sampling plan."""

from datetime import timedelta

import pytest
from sqlmodel import select

from lims.enforcement import cases, confirmation, grade_metrics, grades
from lims.enforcement.rules import load_grade_rules
from lims.field.stand import record_field_test
from lims.lab import release
from lims.models import Sample, TestResult, Vendor, VendorGradeHistory
from lims.models.enums import Role
from lims.security.auth import Actor
from tests.lims.conftest import T0, TESTER

LAB2 = Actor("lab2", Role.LAB_TECHNICIAN)   # releases lab results (second person)

RULES = load_grade_rules()


def m(positives=0, refused=0, upheld=0, days=None, tests=5, gap=None):
    return {"positives": positives, "refused_tests": refused, "objections_upheld": upheld,
            "days_since_last_positive": days, "days_between_positives": gap, "tests": tests}


@pytest.mark.parametrize("metrics,grade,words", [
    (m(), "A", "clean record"),
    (m(positives=1, days=90), "B", "a positive in the window, not recent: positives = 1 (rule >= 1)"),
    (m(upheld=1), "A", "clean record"),    # an upheld objection is no fault of the vendor
    (m(positives=1, days=10), "C", "recent positive: positives = 1 (rule >= 1); "
                                   "days_since_last_positive = 10 (rule <= 30)"),
    (m(positives=2, days=100), "C", "two positives in the window"),
    (m(refused=1), "C", "refused testing: refused_tests = 1"),
    (m(positives=3, days=200), "D", "repeated positives: positives = 3"),
    (m(refused=2), "D", "refused testing repeatedly"),
    (m(positives=2, days=30, gap=30), "D", "a second positive within 30 days"),
    # two positives 290 days apart, the latest recent: not "a second positive within 30 days"
    (m(positives=2, days=10, gap=290), "C", "two positives in the window"),
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
    lab = confirmation.record_confirmatory(session=session, actor=TESTER, case_id=cid,
                                           method="LAB-GCMS", analyte="毒死蜱", value=0.001,
                                           tested_at=T0 + timedelta(days=1))
    release.release(session=session, actor=LAB2, result_id=lab.result_id)
    assert cases.case_view(session=session, case_id=cid).outcome == "overturned"
    (c,) = grades.recompute_grades(session=session, actor=TESTER, at=T0 + timedelta(days=60),
                                   vendor_ids=[world["vendors"]["A01"].id])
    assert c.metrics["positives"] == 0 and c.metrics["objections_upheld"] == 1
    assert c.grade == "A"


def test_overturned_positive_restores_the_grade_without_a_recompute(session, world):
    vid = world["vendors"]["A01"].id
    out = card(session, "A01", T0, colour="unchanged", commodity="芹菜")
    assert session.get(Vendor, vid).credit_grade == "C"      # recent positive
    cid = out.case_id
    cases.notify_vendor(session=session, actor=TESTER, case_id=cid, at=T0)
    cases.lodge_objection(session=session, actor=TESTER, case_id=cid, at=T0 + timedelta(hours=1))
    lab = confirmation.record_confirmatory(session=session, actor=TESTER, case_id=cid,
                                           method="LAB-GCMS", analyte="毒死蜱", value=0.001,
                                           tested_at=T0 + timedelta(days=1))
    release.release(session=session, actor=LAB2, result_id=lab.result_id)
    session.commit()
    assert session.get(Vendor, vid).credit_grade == "A"
    grade, reason = grades.current_grade(session=session, vendor_id=vid)
    assert grade == "A" and reason.startswith("A:")


def test_second_positive_window_counts_days_between_the_positives(session, world, monkeypatch):
    # the app's clock after the last test (times typed in the future are refused)
    monkeypatch.setenv("LIMS_CLOCK", (T0 + timedelta(days=300)).isoformat())
    v = world["vendors"]
    card(session, "A01", T0)
    card(session, "A01", T0 + timedelta(days=290))
    card(session, "A02", T0 + timedelta(days=270))
    card(session, "A02", T0 + timedelta(days=290))
    got = {c.stall: c for c in grades.grades_as_of(session=session, at=T0 + timedelta(days=291),
                                                   vendor_ids=[v["A01"].id, v["A02"].id])}
    assert got["A01"].metrics["days_between_positives"] == 290
    assert got["A01"].grade == "C" and "two positives" in got["A01"].reason
    assert got["A02"].metrics["days_between_positives"] == 20
    assert got["A02"].grade == "D" and "second positive within 30 days" in got["A02"].reason


def test_shown_reason_belongs_to_the_shown_grade_in_both_languages(session, world):
    vid = world["vendors"]["A01"].id
    # graded A (clean) as of a later time first, as the demo's recompute does …
    grades.recompute_grades(session=session, actor=TESTER, at=T0 + timedelta(days=1))
    assert grades.current_grade(session=session, vendor_id=vid)[0] == "A"
    # … then a field test typed for an earlier time finds a positive
    out = card(session, "A01", T0)
    session.commit()
    assert out.vendor_grade == "C"
    grade, reason = grades.current_grade(session=session, vendor_id=vid)
    assert grade == "C" and reason.startswith("C: recent positive"), reason
    grade_zh, reason_zh = grades.current_grade(session=session, vendor_id=vid, lang="zh")
    assert grade_zh == "C" and reason_zh.startswith("C:近期阳性") and "阳性次数 = 1" in reason_zh
    hist = grades.grade_history(session=session, vendor_id=vid)
    assert [h.grade for h in hist][:2] == ["C", "A"]          # newest decision first
    assert hist[0].decided_at >= hist[1].decided_at and hist[0].reason_zh


def test_grading_as_of_a_past_time_leaves_current_grades(session, world):
    v = world["vendors"]
    for d in (1, 5, 9):                       # A01: three positives early on → D
        card(session, "A01", T0 + timedelta(days=d))
    session.commit()
    assert session.get(Vendor, v["A01"].id).credit_grade == "D"
    n = len(session.exec(select(VendorGradeHistory)).all())
    past = T0 - timedelta(days=30)            # before any result: everyone clean
    report = {c.stall: c for c in grades.grades_as_of(session=session, at=past)}
    assert report["A01"].grade == "A" and report["A01"].previous == "D"
    assert report["A01"].changed and not report["A01"].applied
    # the service that changes grades never goes back in time either
    (c,) = grades.recompute_grades(session=session, actor=TESTER, at=past,
                                   vendor_ids=[v["A01"].id])
    session.commit()
    assert c.grade == "D" and c.as_of == T0 + timedelta(days=9)
    assert session.get(Vendor, v["A01"].id).credit_grade == "D"
    assert len(session.exec(select(VendorGradeHistory)).all()) == n


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


def _enzyme(session, stall, at, sample_delta, code=None):
    from lims.intake.pipeline import accept_readings
    from lims.intake.readings import ReadingIn

    rep = accept_readings(session=session, actor=TESTER, readings=[ReadingIn(
        method="ENZ-5009.199", tested_at=at, market="M1", vendor_stall=stall, commodity="菠菜",
        sample_code=code, raw={"control_delta": 0.5, "sample_delta": sample_delta})])
    session.commit()
    return rep.stored[0].sample_code


def test_a_positive_counts_against_the_vendor_only_once_the_retests_confirm_it(session, world):
    """GB/T 5009.199: a positive screen waiting for its re-tests, or not confirmed by them, is
    not a positive of the vendor; confirmed, it is."""
    at = T0 + timedelta(days=3)
    pending = _enzyme(session, "A01", at, 0.1)                       # 80 %: re-test pending
    cleared = _enzyme(session, "A02", at, 0.1)
    _enzyme(session, "A02", at + timedelta(minutes=10), 0.45, cleared)   # 10 %: not confirmed
    confirmed = _enzyme(session, "A03", at, 0.1)
    for i in (1, 2):
        _enzyme(session, "A03", at + timedelta(minutes=10 * i), 0.1, confirmed)
    v = world["vendors"]
    metrics = grades.vendor_metrics(session=session, at=at + timedelta(days=1), window_days=90,
                                    vendor_ids=[v[s].id for s in ("A01", "A02", "A03")])
    assert [metrics[v[s].id]["positives"] for s in ("A01", "A02", "A03")] == [0, 0, 1]
    assert pending and metrics[v["A01"].id]["tests"] == 1


def test_vendor_metrics_from_the_positive_index_equal_a_walk_of_the_results(session, world):
    """The metrics read through the vendor indexes (0035) equal the metrics worked out by hand
    from every result of the vendors' samples: positives, their times and tests."""
    at = T0 + timedelta(days=3)
    _enzyme(session, "A01", at - timedelta(days=20), 0.1)              # pending: not yet
    _enzyme(session, "A01", at - timedelta(days=400), 0.45)            # outside the window
    confirmed = _enzyme(session, "A03", at - timedelta(days=5), 0.1)
    for i in (1, 2):
        _enzyme(session, "A03", at - timedelta(days=5, minutes=-10 * i), 0.1, confirmed)
    screen = _enzyme(session, "A03", at - timedelta(days=1), 0.1)
    for i in (1, 2):
        _enzyme(session, "A03", at - timedelta(days=1, minutes=-10 * i), 0.1, screen)
    v = world["vendors"]
    ids = [v[s].id for s in ("A01", "A02", "A03")]
    got = grades.vendor_metrics(session=session, at=at, window_days=90, vendor_ids=ids)
    by_hand = {}
    for vid in ids:
        rows = session.exec(select(TestResult, Sample).join(Sample)
                            .where(Sample.vendor_id == vid)).all()
        first = [(r, s) for r, s in rows if r.retest_of_id is None
                 and at - timedelta(days=90) < r.tested_at <= at]
        pos = sorted(r.tested_at for r, s in first if r.verdict == "positive"
                     and s.retest_state not in ("pending", "not_confirmed"))
        by_hand[vid] = (len(first), len(pos), (at - pos[-1]).days if pos else None)
    assert {vid: (m["tests"], m["positives"], m["days_since_last_positive"])
            for vid, m in got.items()} == by_hand
    assert got[v["A03"].id]["positives"] == 2 and got[v["A03"].id]["tests"] == 2
    assert got[v["A03"].id]["days_between_positives"] == 4
    assert got[v["A01"].id]["tests"] == 1


def test_metrics_of_vendors_at_their_own_times_in_one_read(session, world):
    """Grading reads the metrics of vendors graded as of different times in one read (results
    near the window's ends judged per vendor): the same as one ``vendor_metrics`` per time."""
    at = T0 + timedelta(days=3)
    _enzyme(session, "A01", at - timedelta(days=20), 0.45)
    _enzyme(session, "A02", at - timedelta(days=85), 0.45)   # in A02's window only when early
    _enzyme(session, "A02", at + timedelta(days=2), 0.45)
    screen = _enzyme(session, "A03", at - timedelta(days=1), 0.1)
    for i in (1, 2):
        _enzyme(session, "A03", at - timedelta(days=1, minutes=-10 * i), 0.1, screen)
    _enzyme(session, "A04", at - timedelta(days=3), 0.45)
    v = world["vendors"]
    when = {v["A01"].id: at - timedelta(days=19), v["A02"].id: at + timedelta(days=10),
            v["A03"].id: at - timedelta(days=2), v["B01"].id: at,
            v["A04"].id: at + timedelta(days=1)}
    one = {vid: grades.vendor_metrics(session=session, at=ts, window_days=90,
                                      vendor_ids=[vid])[vid] for vid, ts in when.items()}
    assert grade_metrics._metrics(session, when, 90) == one
    assert grade_metrics.count_tests(session, when, 90) == {vid: m["tests"]
                                                            for vid, m in one.items()}
    assert one[v["A02"].id]["tests"] == 1 and one[v["A01"].id]["tests"] == 1
    assert one[v["A03"].id]["tests"] == 0 and one[v["A04"].id]["tests"] == 1


def test_intake_regrading_counts_tests_only_for_the_grades_it_writes(session, world):
    """The intake's regrading skips the one metric no rule uses (tests) for vendors whose
    grade stays, and counts it for the history row of a grade that changes."""
    v = world["vendors"]
    for d in (1, 2):
        card(session, "A03", T0 + timedelta(days=d), colour="sky_blue")   # clean: A, tests 2
    grades.recompute_grades(session=session, actor=TESTER, at=T0 + timedelta(days=3))
    card(session, "A03", T0 + timedelta(days=4))                 # a positive: the grade changes
    h = session.exec(select(VendorGradeHistory).where(VendorGradeHistory.vendor_id == v["A03"].id)
                     .order_by(VendorGradeHistory.id.desc())).first()
    assert h.grade == "C" and h.metrics["positives"] == 1 and h.metrics["tests"] == 3
    kept = grades.recompute_grades(session=session, actor=TESTER, at=T0 + timedelta(days=4),
                                   vendor_ids=[v["A03"].id], all_tests=False)
    assert [(c.grade, c.changed, c.metrics["tests"]) for c in kept] == [("C", False, None)]
    (full,) = grades.recompute_grades(session=session, actor=TESTER, at=T0 + timedelta(days=4),
                                      vendor_ids=[v["A03"].id])
    assert full.metrics["tests"] == 3


def test_a_result_added_as_an_orm_object_takes_its_samples_vendor(session, world):
    """Grading reads results by vendor: a result not stored by the intake (a tool, a test)
    gets its sample's vendor too."""
    stored = card(session, "A02", T0)
    r = session.get(TestResult, stored.result_id)
    copy = TestResult(**{k: getattr(r, k) for k in ("sample_id", "method_id", "tested_at",
                                                      "raw", "verdict", "commodity_id",
                                                      "local_date", "week_start")},
                      ingest_key="orm-copy")
    session.add(copy)
    session.flush()
    assert r.vendor_id == world["vendors"]["A02"].id and copy.vendor_id == r.vendor_id
