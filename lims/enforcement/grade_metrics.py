"""What a vendor's grade is decided on (``lims.enforcement.grades``): its positives, refused
tests, upheld objections and tests in the grading window, read for many vendors at once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.models import EnforcementCase, Sample, TestResult, Vendor, VendorRefusal
from lims.reporting.stats import COUNTED_STATUSES
from lims.timeutil import week_start

POSITIVE_VERDICTS = ("positive", "noncompliant")
UNDECIDED_OR_CLEARED = ("pending", "not_confirmed")   # Sample.retest_state (lims.intake.retests)


def vendor_metrics(*, session: Session, at: datetime, window_days: int,
                   vendor_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Per vendor: positives, refused_tests, objections_upheld, days_since_last_positive,
    days_between_positives (the shortest gap between two successive positives), tests.

    Counted over ``window_days`` before ``at``; a positive overturned by a compliant
    confirmatory result is not a positive (it counts as an upheld objection when one was made).
    """
    ids = vendor_ids if vendor_ids is not None else list(session.exec(select(Vendor.id)))
    return _metrics(session, dict.fromkeys(ids, at), window_days)


def _metrics(session: Session, when: dict[int, datetime],
             window_days: int) -> dict[int, dict[str, Any]]:
    """``vendor_metrics`` of each vendor as of its own time (``when``), in one read: results
    inside every vendor's window come back counted, those in the edges (between the earliest
    and the latest window start, and end) one by one and are judged per vendor."""
    ids = list(when)
    metrics: dict[int, dict[str, Any]] = {
        v: {"positives": 0, "refused_tests": 0, "objections_upheld": 0,
            "days_since_last_positive": None, "days_between_positives": None, "tests": 0}
        for v in ids}
    if not ids:
        return metrics
    window = timedelta(days=window_days)
    lo_at, at = min(when.values()), max(when.values())
    since, hi_since = lo_at - window, at - window

    def inside(vid: int, ts: datetime) -> bool:
        return when[vid] - window < ts <= when[vid]
    t, s = TestResult.__table__.c, Sample.__table__.c
    where = (t.retest_of_id.is_(None), t.status.in_(COUNTED_STATUSES),
             t.tested_at > since, t.tested_at <= at)
    if session.autoflush:   # (as the ORM query that used to come first: pending changes count)
        session.flush()
    conn = session.connection()
    # one walk of the vendors' results: a positive comes back as its own row (its id set), the
    # rest of a vendor's results as one counted row (id NULL) per edge time (NULL: inside every
    # window). A positive screen waiting for its re-tests, or one they did not confirm, is not
    # (yet) a positive of the vendor (GB/T 5009.199 re-tests a positive before it is final)
    pid = sa.case((sa.and_(t.verdict.in_(POSITIVE_VERDICTS),
                           sa.or_(s.retest_state.is_(None),
                                  s.retest_state.not_in(UNDECIDED_OR_CLEARED))), t.id),
                  else_=None)
    edge = sa.case((sa.or_(t.tested_at <= hi_since, t.tested_at > lo_at), t.tested_at),
                   else_=None)
    if _by_window(session, len(ids), since, at):
        # most of the vendors: read the window's weeks, not every sample of every vendor
        # ("+ 0": SQLite would otherwise walk the vendors' samples; same rows either way)
        lo, hi = since.date() - timedelta(days=8), at.date() + timedelta(days=8)
        rows = (sa.select(s.vendor_id, pid.label("pid"), edge.label("edge"), t.tested_at)
                .select_from(TestResult.__table__)
                .join(Sample.__table__, s.id == t.sample_id + 0)
                .where((s.vendor_id + 0).in_(ids), *where,
                       t.week_start >= week_start(lo), t.week_start <= week_start(hi))
                .subquery())
    else:
        rows = (sa.select(s.vendor_id, pid.label("pid"), edge.label("edge"), t.tested_at)
                .join(Sample.__table__, s.id == t.sample_id)
                .where(s.vendor_id.in_(ids), *where).subquery())
    found: list[tuple[int, int, datetime]] = []   # (vendor, result, tested_at) of positives
    for vid, rid, edge_at, tested_at, n in conn.execute(   # (grouped outside: PostgreSQL
            sa.select(rows.c.vendor_id, rows.c.pid, rows.c.edge,   # would not match the CASE)
                      sa.func.max(rows.c.tested_at), sa.func.count())
            .group_by(rows.c.vendor_id, rows.c.pid, rows.c.edge)):
        if edge_at is not None and not inside(vid, edge_at):
            continue
        metrics[vid]["tests"] += n
        if rid is not None:
            found.append((vid, rid, tested_at))
    # overturned by a compliant confirmation: looked up for these positives only
    pos_ids = sorted({rid for _v, rid, _t in found})
    overturned = {r for i in range(0, len(pos_ids), 500) for r in conn.execute(
        sa.select(EnforcementCase.__table__.c.result_id).where(
            EnforcementCase.__table__.c.result_id.in_(pos_ids[i:i + 500]),
            EnforcementCase.__table__.c.outcome == "overturned")).scalars()}
    times: dict[int, list[datetime]] = defaultdict(list)
    for vid, rid, tested_at in found:
        if rid not in overturned:
            metrics[vid]["positives"] += 1
            times[vid].append(tested_at)
    for vid, ts in times.items():
        ts.sort()
        metrics[vid]["days_since_last_positive"] = (when[vid] - ts[-1]).days
        if len(ts) > 1:
            metrics[vid]["days_between_positives"] = min((b - a).days
                                                         for a, b in zip(ts[:-1], ts[1:], strict=True))
    for r in session.exec(select(VendorRefusal).where(VendorRefusal.vendor_id.in_(ids),
                                                      VendorRefusal.at > since,
                                                      VendorRefusal.at <= at)):
        if inside(r.vendor_id, r.at):
            metrics[r.vendor_id]["refused_tests"] += 1
    for c in session.exec(select(EnforcementCase).where(
            EnforcementCase.vendor_id.in_(ids), EnforcementCase.objection_accepted.is_(True),
            EnforcementCase.outcome == "overturned", EnforcementCase.opened_at > since,
            EnforcementCase.opened_at <= at)):
        if inside(c.vendor_id, c.opened_at):
            metrics[c.vendor_id]["objections_upheld"] += 1
    return metrics


def _by_window(session: Session, n_vendors: int, since: datetime, at: datetime) -> bool:
    """Whether the vendors are a larger share of all vendors than the window is of the stored
    weeks: then reading the window's results costs less than walking the vendors' samples.
    A few vendors (a listener's message, a hand-entered test) are read by vendor, unasked."""
    if n_vendors < 100:
        return False
    total = session.execute(sa.select(sa.func.count()).select_from(Vendor.__table__)).scalar()
    t = TestResult.__table__.c
    first, last = session.execute(sa.select(sa.func.min(t.week_start),
                                            sa.func.max(t.week_start))).one()
    if not total or first is None:
        return False
    span = (last - first).days + 7
    return (at - since).days / span < n_vendors / total
