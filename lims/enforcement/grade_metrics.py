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
from lims.models.results import POSITIVE_SCREEN, RETEST_OPEN
from lims.reporting.stats import COUNTED_STATUSES
from lims.storage.bulk import among

POSITIVE_VERDICTS = ("positive", "noncompliant")


def vendor_metrics(*, session: Session, at: datetime, window_days: int,
                   vendor_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Per vendor: positives, refused_tests, objections_upheld, days_since_last_positive,
    days_between_positives (the shortest gap between two successive positives), tests.

    Counted over ``window_days`` before ``at``; a positive overturned by a compliant
    confirmatory result is not a positive (it counts as an upheld objection when one was made).
    """
    ids = vendor_ids if vendor_ids is not None else list(session.exec(select(Vendor.id)))
    return _metrics(session, dict.fromkeys(ids, at), window_days)


def _metrics(session: Session, when: dict[int, datetime], window_days: int, *,
             tests: bool = True) -> dict[int, dict[str, Any]]:
    """``vendor_metrics`` of each vendor as of its own time (``when``), in one read per 500
    vendors. Positives come from the partial index of positive screens by vendor (0035), a few
    rows per vendor; ``tests`` (the one metric that needs every result of the window) is
    counted unless ``tests`` is false (then it is None: ``count_tests`` fills it for the
    vendors whose grade is written, see ``grades.recompute_grades``)."""
    ids = list(when)
    metrics: dict[int, dict[str, Any]] = {
        v: {"positives": 0, "refused_tests": 0, "objections_upheld": 0,
            "days_since_last_positive": None, "days_between_positives": None,
            "tests": 0 if tests else None}
        for v in ids}
    if not ids:
        return metrics
    window = timedelta(days=window_days)
    lo_at, at = min(when.values()), max(when.values())
    since = lo_at - window

    def inside(vid: int, ts: datetime) -> bool:
        return when[vid] - window < ts <= when[vid]
    t, s = TestResult.__table__.c, Sample.__table__.c
    if session.autoflush:   # (as the ORM query that used to come first: pending changes count)
        session.flush()
    conn = session.connection()
    if tests:
        for vid, n in count_tests(session, when, window_days).items():
            metrics[vid]["tests"] = n
    # a positive screen waiting for its re-tests, or one they did not confirm, is not (yet) a
    # positive of the vendor (GB/T 5009.199 re-tests a positive before it is final)
    found: list[tuple[int, int, datetime, int]] = []   # (vendor, result, tested_at, sample)
    for i in range(0, len(ids), 500):
        for vid, rid, tested_at, sid in conn.execute(
                sa.select(t.vendor_id, t.id, t.tested_at, t.sample_id)
                .where(among(conn, t.vendor_id, ids[i:i + 500]), sa.text(POSITIVE_SCREEN),
                       t.status.in_(COUNTED_STATUSES), t.tested_at > since, t.tested_at <= at)):
            if inside(vid, tested_at):
                found.append((vid, rid, tested_at, sid))
    # leave out those whose sample's re-tests are pending or did not confirm them: such samples
    # are a few in a hundred and sit in a small partial index (0036); a join to the samples read
    # every positive's sample row instead
    sids = sorted({sid for *_x, sid in found})
    waiting = {i for k in range(0, len(sids), 500) for i in conn.execute(
        sa.select(s.id).where(among(conn, s.id, sids[k:k + 500]), sa.text(RETEST_OPEN))).scalars()}
    found = [f for f in found if f[3] not in waiting]
    # overturned by a compliant confirmation: looked up for these positives only
    pos_ids = sorted({rid for _v, rid, _t, _s in found})
    overturned = {r for i in range(0, len(pos_ids), 500) for r in conn.execute(
        sa.select(EnforcementCase.__table__.c.result_id).where(
            among(conn, EnforcementCase.__table__.c.result_id, pos_ids[i:i + 500]),
            EnforcementCase.__table__.c.outcome == "overturned")).scalars()}
    times: dict[int, list[datetime]] = defaultdict(list)
    for vid, rid, tested_at, _sid in found:
        if rid not in overturned:
            metrics[vid]["positives"] += 1
            times[vid].append(tested_at)
    for vid, ts in times.items():
        ts.sort()
        metrics[vid]["days_since_last_positive"] = (when[vid] - ts[-1]).days
        if len(ts) > 1:
            metrics[vid]["days_between_positives"] = min((b - a).days
                                                         for a, b in zip(ts[:-1], ts[1:], strict=True))
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        for vid, ts in session.execute(sa.select(VendorRefusal.vendor_id, VendorRefusal.at).where(
                among(conn, VendorRefusal.vendor_id, part), VendorRefusal.at > since,
                VendorRefusal.at <= at)):
            if inside(vid, ts):
                metrics[vid]["refused_tests"] += 1
        for vid, ts in session.execute(sa.select(EnforcementCase.vendor_id,
                                                 EnforcementCase.opened_at).where(
                among(conn, EnforcementCase.vendor_id, part),
                EnforcementCase.objection_accepted.is_(True),
                EnforcementCase.outcome == "overturned", EnforcementCase.opened_at > since,
                EnforcementCase.opened_at <= at)):
            if inside(vid, ts):
                metrics[vid]["objections_upheld"] += 1
    return metrics


def count_tests(session: Session, when: dict[int, datetime],
                window_days: int) -> dict[int, int]:
    """Per vendor: its results (first screens, counted statuses) in the ``window_days`` before
    its own time (``when``). Results inside every vendor's window come back counted per vendor;
    those near the windows' ends (between the earliest and the latest window start, and end)
    per time, judged per vendor."""
    out = dict.fromkeys(when, 0)
    if not when:
        return out
    window = timedelta(days=window_days)
    lo_at, at = min(when.values()), max(when.values())
    since, hi_since = lo_at - window, at - window
    t = TestResult.__table__.c
    edge = sa.case((sa.or_(t.tested_at <= hi_since, t.tested_at > lo_at), t.tested_at),
                   else_=None)
    ids = list(when)
    conn = session.connection()
    for i in range(0, len(ids), 500):
        rows = (sa.select(t.vendor_id, edge.label("edge"))
                .where(among(conn, t.vendor_id, ids[i:i + 500]), t.retest_of_id.is_(None),
                       t.status.in_(COUNTED_STATUSES), t.tested_at > since, t.tested_at <= at)
                .subquery())
        for vid, edge_at, n in conn.execute(   # (grouped outside: PostgreSQL would not match
                sa.select(rows.c.vendor_id, rows.c.edge, sa.func.count())   # the CASE)
                .group_by(rows.c.vendor_id, rows.c.edge)):
            if edge_at is None or when[vid] - window < edge_at <= when[vid]:
                out[vid] += n
    return out
