"""Vendor credit grades A–D from the record, with the reason; sampling frequency by grade.

Rules are reference data (``refdata/credit_grades.toml``): the first rule whose conditions all
hold gives the grade, else the default. ``recompute_grades`` updates ``Vendor.credit_grade`` and
appends a ``VendorGradeHistory`` row for each change (and for a vendor's first grading).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.enforcement.rules import GradeRules, load_grade_rules
from lims.errors import NotFound
from lims.models import (
    EnforcementCase,
    Method,
    Sample,
    TestResult,
    Vendor,
    VendorGradeHistory,
    VendorRefusal,
)
from lims.reporting.stats import COUNTED_STATUSES
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import local_tz, now

PERMISSION = "cases.manage"
POSITIVE_VERDICTS = ("positive", "noncompliant")


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
            return GradeDecision(rule.grade, f"{rule.grade}: {rule.reason_en}: {why} "
                                 f"[rule {i}, {rules.edition}]",
                                 f"{rule.grade}:{rule.reason_zh}:{why}", i)
    return GradeDecision(rules.default, f"{rules.default}: {rules.default_reason_en} "
                         f"[{rules.edition}]", f"{rules.default}:{rules.default_reason_zh}", None)


def vendor_metrics(*, session: Session, at: datetime, window_days: int,
                   vendor_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Per vendor: positives, refused_tests, objections_upheld, days_since_last_positive, tests.

    Counted over ``window_days`` before ``at``; a positive overturned by a compliant
    confirmatory result is not a positive (it counts as an upheld objection when one was made).
    """
    since = at - timedelta(days=window_days)
    ids = vendor_ids if vendor_ids is not None else list(session.exec(select(Vendor.id)))
    metrics: dict[int, dict[str, Any]] = {
        v: {"positives": 0, "refused_tests": 0, "objections_upheld": 0,
            "days_since_last_positive": None, "tests": 0} for v in ids}
    if not ids:
        return metrics
    overturned = set(session.exec(select(EnforcementCase.result_id)
                                  .where(EnforcementCase.outcome == "overturned")))
    t, s = TestResult.__table__.c, Sample.__table__.c
    q = (sa.select(s.vendor_id, t.id, t.verdict, t.tested_at)
         .join(Sample.__table__, s.id == t.sample_id)
         .where(s.vendor_id.in_(ids), t.retest_of_id.is_(None), t.status.in_(COUNTED_STATUSES),
                t.tested_at > since, t.tested_at <= at))
    last: dict[int, datetime] = {}
    for vid, rid, verdict, tested_at in session.connection().execute(q):
        m = metrics[vid]
        m["tests"] += 1
        if verdict in POSITIVE_VERDICTS and rid not in overturned:
            m["positives"] += 1
            if vid not in last or tested_at > last[vid]:
                last[vid] = tested_at
    for vid, ts in last.items():
        metrics[vid]["days_since_last_positive"] = (at - ts).days
    for r in session.exec(select(VendorRefusal).where(VendorRefusal.vendor_id.in_(ids),
                                                      VendorRefusal.at > since,
                                                      VendorRefusal.at <= at)):
        metrics[r.vendor_id]["refused_tests"] += 1
    for c in session.exec(select(EnforcementCase).where(
            EnforcementCase.vendor_id.in_(ids), EnforcementCase.objection_accepted.is_(True),
            EnforcementCase.outcome == "overturned", EnforcementCase.opened_at > since,
            EnforcementCase.opened_at <= at)):
        metrics[c.vendor_id]["objections_upheld"] += 1
    return metrics


def recompute_grades(*, session: Session, actor: Actor, at: datetime | None = None,
                     vendor_ids: list[int] | None = None,
                     rules: GradeRules | None = None) -> list[GradeChange]:
    """Grade every vendor (or ``vendor_ids``) from its record; keep changes in history."""
    require(actor, PERMISSION)
    rules = rules or load_grade_rules()
    at = at or now().replace(microsecond=0)
    metrics = vendor_metrics(session=session, at=at, window_days=rules.window_days,
                             vendor_ids=vendor_ids)
    graded_before = set(session.exec(select(VendorGradeHistory.vendor_id).distinct()))
    out = []
    vendors = session.exec(select(Vendor).where(Vendor.id.in_(list(metrics)))
                           .order_by(Vendor.id)).all()
    for v in vendors:
        m = metrics[v.id]
        d = decide_grade(m, rules)
        previous = v.credit_grade
        changed = d.grade != previous or v.id not in graded_before
        if changed:
            session.add(VendorGradeHistory(vendor_id=v.id, grade=d.grade, previous=previous,
                                           reason=d.reason[:1000], metrics=m,
                                           rules_edition=rules.edition, computed_at=at,
                                           computed_by=actor.username))
            if d.grade != previous:
                v.credit_grade = d.grade
                session.add(v)
                audit.record(session=session, actor=actor, action="vendor.grade",
                             entity="vendor", entity_id=v.id, old={"grade": previous},
                             new={"grade": d.grade, "metrics": m}, reason=d.reason)
        out.append(GradeChange(v.id, v.stall, previous, d.grade, d.reason, d.grade != previous,
                               m))
    session.flush()
    return out


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
    return list(session.exec(select(VendorGradeHistory)
                             .where(VendorGradeHistory.vendor_id == vendor_id)
                             .order_by(VendorGradeHistory.computed_at.desc(),
                                       VendorGradeHistory.id.desc())))


def current_grade(*, session: Session, vendor_id: int) -> tuple[str, str]:
    """(grade, reason) for the field view when a vendor is picked."""
    v = session.get(Vendor, vendor_id)
    if v is None:
        raise NotFound(f"no vendor with id {vendor_id}")
    hist = grade_history(session=session, vendor_id=vendor_id)
    return v.credit_grade, (hist[0].reason if hist else "not graded yet (default grade)")


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
