"""Vendor credit grades A–D from the record, with the reason; sampling frequency by grade.

Rules are reference data (``refdata/credit_grades.toml``): the first rule whose conditions all
hold gives the grade, else the default. ``recompute_grades`` updates ``Vendor.credit_grade`` and
appends a ``VendorGradeHistory`` row for each change (and for a vendor's first grading), with the
reason in English and Chinese and the time it was decided (history is ordered by that).

The current grade never moves back in time: a vendor is graded as of the later of the time asked
for and the time its current grade is "as of", so a batch of older results is judged together
with everything known, and ``grades_as_of`` (``lims grades recompute --at PAST``) only reports
what the grades were then, changing nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.enforcement.grade_metrics import (  # noqa: F401 (re-exported)
    POSITIVE_VERDICTS,
    _metrics,
    count_tests,
    vendor_metrics,
)
from lims.enforcement.rules import GradeRules, load_grade_rules
from lims.errors import NotFound
from lims.models import (
    Method,
    Sample,
    TestResult,
    Vendor,
    VendorGradeHistory,
    VendorRefusal,
)
from lims.security import audit
from lims.security.auth import Actor, require
from lims.storage.bulk import among
from lims.timeutil import local_tz, now

PERMISSION = "cases.manage"


@dataclass(frozen=True)
class GradeDecision:
    grade: str
    reason: str       # English, with the numbers that decided it
    reason_zh: str
    rule: int | None  # index (1-based) of the matching rule; None = default


@dataclass(frozen=True)
class GradeChange:
    vendor_id: int
    stall: str
    previous: str | None
    grade: str
    reason: str
    changed: bool
    metrics: dict[str, Any]
    reason_zh: str = ""
    as_of: datetime | None = None
    applied: bool = True    # False: a report of the grade as of a past time, nothing changed


@dataclass(frozen=True)
class PlanRow:
    vendor_id: int
    market_id: int
    stall: str
    name: str
    grade: str
    per_month: int
    tested_this_month: int
    due: int


def decide_grade(metrics: dict[str, Any], rules: GradeRules) -> GradeDecision:
    """Pure: the grade for one vendor's metrics under ``rules``."""
    for i, rule in enumerate(rules.rules, start=1):
        if all(c.holds(metrics) for c in rule.conditions):
            why = "; ".join(c.describe(metrics) for c in rule.conditions)
            why_zh = ";".join(c.describe_zh(metrics) for c in rule.conditions)
            return GradeDecision(rule.grade, f"{rule.grade}: {rule.reason_en}: {why} "
                                 f"[rule {i}, {rules.edition}]",
                                 f"{rule.grade}:{rule.reason_zh}:{why_zh} "
                                 f"[规则 {i},{rules.edition}]", i)
    return GradeDecision(rules.default, f"{rules.default}: {rules.default_reason_en} "
                         f"[{rules.edition}]",
                         f"{rules.default}:{rules.default_reason_zh} [{rules.edition}]", None)


def _latest_as_of(session: Session, vendor_ids: list[int],
                  newest_results: dict[int, datetime] | None = None) -> dict[int, datetime]:
    """Per graded vendor: the latest of the as-of time of its latest grade decision and the
    time of its newest record (result or refusal) — the current grade is never older.
    ``newest_results``: the newest result time of each vendor, when the caller has it."""
    h = VendorGradeHistory
    out: dict[int, datetime] = {}
    for k in range(0, len(vendor_ids), 500):
        part = vendor_ids[k:k + 500]
        out.update(session.exec(select(h.vendor_id, sa.func.max(h.computed_at))
                                .where(among(session, h.vendor_id, part))
                                .group_by(h.vendor_id)).all())
        newest = [
            *([(v, newest_results[v]) for v in part if v in newest_results]
              if newest_results is not None else newest_result_times(session, part).items()),
            *session.exec(select(VendorRefusal.vendor_id, sa.func.max(VendorRefusal.at))
                          .where(among(session, VendorRefusal.vendor_id, part))
                          .group_by(VendorRefusal.vendor_id))]
        for vid, ts in newest:
            if vid in out and ts is not None:
                out[vid] = max(out[vid], ts)
    return out


def newest_result_times(session: Session, vendor_ids: list[int]) -> dict[int, datetime]:
    """Each vendor's newest result time (None: no result), one index seek per vendor
    (``ix_test_result_vendor_tested``)."""
    t, v = TestResult.__table__.c, Vendor.__table__.c
    newest = sa.select(sa.func.max(t.tested_at)).where(t.vendor_id == v.id).scalar_subquery()
    out: dict[int, datetime] = {}
    for k in range(0, len(vendor_ids), 500):
        out.update(session.connection().execute(
            sa.select(v.id, newest).where(among(session, v.id, vendor_ids[k:k + 500]))).all())
    return out


def _grade(session: Session, rules: GradeRules, when: dict[int, datetime], *,
           tests: bool = True) -> dict[int, tuple[datetime, dict[str, Any], GradeDecision]]:
    """Grade each vendor as of its own time (one metrics read per month of distinct times).
    ``tests``: count the vendors' tests too (else None; the rules must not need them)."""
    groups: list[dict[int, datetime]] = []
    start = None
    for vid, ts in sorted(when.items(), key=lambda kv: kv[1]):
        if start is None or ts - start > timedelta(days=31):
            start = ts
            groups.append({})
        groups[-1][vid] = ts
    out = {}
    for group in groups:
        for vid, m in _metrics(session, group, rules.window_days, tests=tests).items():
            out[vid] = (group[vid], m, decide_grade(m, rules))
    return out


def rules_use_tests(rules: GradeRules) -> bool:
    """Whether a rule decides on the ``tests`` metric (then it is always counted)."""
    return any(c.metric == "tests" for r in rules.rules for c in r.conditions)


def _vendors(session: Session, vendor_ids: list[int] | None) -> list[sa.Row]:
    """Id, stall and current grade of every vendor (or of ``vendor_ids``), by id. Plain rows:
    building the ORM objects of the 4 700 vendors of a batch from every market took longer than
    deciding their grades."""
    if session.autoflush:   # (as the ORM query that used to be here: pending vendors count)
        session.flush()
    v = Vendor.__table__.c
    q = sa.select(v.id, v.stall, v.credit_grade).order_by(v.id)
    if vendor_ids is None:
        return list(session.execute(q))
    ids = sorted(set(vendor_ids))
    return sorted((r for i in range(0, len(ids), 500)
                   for r in session.execute(q.where(among(session, v.id, ids[i:i + 500])))),
                  key=lambda r: r.id)


def _set_grades(session: Session, grades: dict[int, str]) -> None:
    """Write the vendors' new grades, one UPDATE per grade and 500 vendors (vendors the session
    holds get the new grade too)."""
    by_grade: dict[str, list[int]] = defaultdict(list)
    for vid, grade in grades.items():
        by_grade[grade].append(vid)
    for grade, ids in sorted(by_grade.items()):
        for i in range(0, len(ids), 500):
            session.execute(sa.update(Vendor).where(Vendor.id.in_(ids[i:i + 500]))
                            .values(credit_grade=grade))


def recompute_grades(*, session: Session, actor: Actor, at: datetime | None = None,
                     vendor_ids: list[int] | None = None,
                     rules: GradeRules | None = None,
                     newest_results: dict[int, datetime] | None = None,
                     all_tests: bool = True) -> list[GradeChange]:
    """Grade every vendor (or ``vendor_ids``) from its record; keep changes in history.

    Each vendor is graded as of the later of ``at`` (default now) and the as-of time of its
    current grade: the current grade never goes back in time (grading as of a past time is
    ``grades_as_of``, which changes nothing); older results that arrive late are judged with
    everything known. ``newest_results``: each vendor's newest result time, when the caller
    read it already (saves that query). ``all_tests`` false (the intake's regrading): the
    ``tests`` metric, which the rules do not use, is counted only for the vendors whose grade
    history gets a row; the others' GradeChange has it None.
    """
    require(actor, PERMISSION)
    rules = rules or load_grade_rules()
    at = at or now().replace(microsecond=0)
    decided = now()
    vendors = _vendors(session, vendor_ids)
    latest = _latest_as_of(session, [v.id for v in vendors], newest_results)
    count_all = all_tests or rules_use_tests(rules)
    graded = _grade(session, rules, {v.id: max(at, latest.get(v.id, at)) for v in vendors},
                    tests=count_all)
    written = {v.id: graded[v.id][0] for v in vendors
               if graded[v.id][2].grade != v.credit_grade or v.id not in latest}
    if written and not count_all:   # the history rows carry every metric
        for vid, n in count_tests(session, written, rules.window_days).items():
            graded[vid][1]["tests"] = n
    out = []
    new_grades: dict[int, str] = {}
    for v in vendors:
        as_of, m, d = graded[v.id]
        previous = v.credit_grade
        if v.id in written:
            session.add(VendorGradeHistory(vendor_id=v.id, grade=d.grade, previous=previous,
                                           reason=d.reason[:1000], reason_zh=d.reason_zh[:1000],
                                           metrics=m, rules_edition=rules.edition,
                                           computed_at=as_of, computed_by=actor.username,
                                           decided_at=decided))
            if d.grade != previous:
                new_grades[v.id] = d.grade
                audit.record(session=session, actor=actor, action="vendor.grade",
                             entity="vendor", entity_id=v.id, old={"grade": previous},
                             new={"grade": d.grade, "metrics": m, "as_of": as_of},
                             reason=d.reason)
        out.append(GradeChange(v.id, v.stall, previous, d.grade, d.reason, d.grade != previous,
                               m, d.reason_zh, as_of, True))
    _set_grades(session, new_grades)
    session.flush()
    return out


def grades_as_of(*, session: Session, at: datetime, vendor_ids: list[int] | None = None,
                 rules: GradeRules | None = None) -> list[GradeChange]:
    """The grade each vendor had by its record as of ``at``: a report; nothing is written and
    the current grades stay (``previous`` is the current grade, ``changed`` whether they differ).
    """
    rules = rules or load_grade_rules()
    vendors = _vendors(session, vendor_ids)
    graded = _grade(session, rules, {v.id: at for v in vendors})
    out = []
    for v in vendors:
        as_of, m, d = graded[v.id]
        out.append(GradeChange(v.id, v.stall, v.credit_grade, d.grade, d.reason,
                               d.grade != v.credit_grade, m, d.reason_zh, as_of, False))
    return out


def regrade_vendor(*, session: Session, actor: Actor, vendor_id: int | None) -> GradeChange | None:
    """Grade one vendor again after its record changed outside the intake pipeline (a case
    outcome decided by the lab), as of its newest result."""
    if vendor_id is None:
        return None
    newest = session.exec(select(sa.func.max(TestResult.tested_at)).select_from(TestResult)
                          .join(Sample, Sample.id == TestResult.sample_id)
                          .where(Sample.vendor_id == vendor_id)).one()
    (change,) = recompute_grades(session=session, actor=actor, vendor_ids=[vendor_id],
                                 at=newest)
    return change


def record_refusal(*, session: Session, actor: Actor, vendor_id: int, at: datetime | None = None,
                   note: str = "") -> VendorRefusal:
    """A vendor refused sampling or testing (counts against its grade)."""
    require(actor, PERMISSION)
    if session.get(Vendor, vendor_id) is None:
        raise NotFound(f"no vendor with id {vendor_id}")
    r = VendorRefusal(vendor_id=vendor_id, at=at or now().replace(microsecond=0),
                      by=actor.username, note=note)
    session.add(r)
    session.flush()
    audit.record(session=session, actor=actor, action="vendor.refusal", entity="vendor",
                 entity_id=vendor_id, new={"at": r.at, "note": note})
    return r


def grade_history(*, session: Session, vendor_id: int) -> list[VendorGradeHistory]:
    """A vendor's grade decisions, newest decision first."""
    return list(session.exec(select(VendorGradeHistory)
                             .where(VendorGradeHistory.vendor_id == vendor_id)
                             .order_by(VendorGradeHistory.decided_at.desc(),
                                       VendorGradeHistory.id.desc())))


def reason_text(row: VendorGradeHistory | GradeChange | GradeDecision, lang: str) -> str:
    """The reason in ``lang`` (zh or en); English when there is no Chinese text."""
    zh = getattr(row, "reason_zh", "")
    return zh if lang == "zh" and zh else row.reason


NOT_GRADED = {"en": "not graded yet (default grade)", "zh": "尚未评级(默认等级)"}
NO_REASON = {"en": "grade set without a recorded grading", "zh": "等级未经评级记录设定"}


def current_grade(*, session: Session, vendor_id: int, lang: str = "en") -> tuple[str, str]:
    """(grade, reason) for the field view when a vendor is picked: the reason of the latest
    decision that gave the current grade, in ``lang`` (zh or en)."""
    v = session.get(Vendor, vendor_id)
    if v is None:
        raise NotFound(f"no vendor with id {vendor_id}")
    hist = grade_history(session=session, vendor_id=vendor_id)
    if not hist:
        return v.credit_grade, NOT_GRADED.get(lang, NOT_GRADED["en"])
    if hist[0].grade != v.credit_grade:
        return v.credit_grade, NO_REASON.get(lang, NO_REASON["en"])
    return v.credit_grade, reason_text(hist[0], lang)


def sampling_plan(*, session: Session, market_id: int | None = None, on: date | None = None,
                  rules: GradeRules | None = None, tz: ZoneInfo | None = None) -> list[PlanRow]:
    """Samples due per vendor this month by grade (D first: they are sampled most often)."""
    tz = tz or local_tz()
    rules = rules or load_grade_rules()
    on = on or now().astimezone(tz).date()
    first = on.replace(day=1)
    q = select(Vendor)
    if market_id is not None:
        q = q.where(Vendor.market_id == market_id)
    vendors = session.exec(q).all()
    t, s = TestResult.__table__.c, Sample.__table__.c
    rapid_ids = [m.id for m in session.exec(select(Method).where(Method.is_rapid))]
    counts: dict[int, int] = defaultdict(int)
    if vendors:
        rows = session.connection().execute(
            sa.select(s.vendor_id, sa.func.count(sa.distinct(s.id)))
            .join(Sample.__table__, s.id == t.sample_id)
            .where(s.vendor_id.in_([v.id for v in vendors]), t.local_date >= first,
                   t.local_date <= on, t.method_id.in_(rapid_ids))
            .group_by(s.vendor_id))
        counts.update({vid: int(n) for vid, n in rows})
    out = []
    for v in vendors:
        per = rules.per_month.get(v.credit_grade, rules.per_month[rules.default])
        n = counts.get(v.id, 0)
        out.append(PlanRow(v.id, v.market_id, v.stall, v.name, v.credit_grade, per, n,
                           max(0, per - n)))
    out.sort(key=lambda r: (-"ABCD".index(r.grade) if r.grade in "ABCD" else 0, -r.due,
                            r.market_id, r.stall))
    return out
