"""What a stored result sets in motion: a case for a positive, an alert for a positive or
suspicious result, and a new grade for its vendor.

The intake pipeline (``lims.intake.pipeline.accept_readings``) calls ``follow_up`` and
``regrade_vendors_of`` for every batch it stores, whatever path the readings took; nothing else
needs to. ``follow_up_pending`` (``lims case sweep``) remains for results stored before the
pipeline did this, and for cases voided and restored by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.enforcement.alerts import raise_alert
from lims.enforcement.cases import open_case
from lims.enforcement.grades import recompute_grades
from lims.enforcement.rules import EnforcementRules, load_enforcement_rules
from lims.models import Alert, EnforcementCase, Method, Sample, TestResult
from lims.security.auth import Actor


@dataclass
class FollowUp:
    case_ids: dict[int, int] = field(default_factory=dict)   # result id -> case id
    alert_ids: dict[int, int] = field(default_factory=dict)  # result id -> alert id


def follow_up(*, session: Session, actor: Actor, result_ids: list[int],
              rules: EnforcementRules | None = None) -> FollowUp:
    """Open cases and raise alerts for the given results (idempotent).

    Only first tests of a sample with a rapid method count: re-tests and lab confirmations
    belong to the case already open. Voided results are skipped.
    """
    rules = rules or load_enforcement_rules()
    out = FollowUp()
    if not result_ids:
        return out
    rapid = {m.id for m in session.exec(select(Method).where(Method.is_rapid))}
    results = [r for i in range(0, len(result_ids), 500) for r in session.exec(
        select(TestResult).where(TestResult.id.in_(result_ids[i:i + 500])))]
    for r in results:
        if r.method_id not in rapid or r.retest_of_id is not None or r.status == "voided":
            continue
        if r.verdict in rules.alert_verdicts:
            alert = raise_alert(session=session, actor=actor, result_id=r.id, rules=rules)
            if alert is not None:
                out.alert_ids[r.id] = alert.id
        if r.verdict in rules.case_verdicts:
            case = open_case(session=session, actor=actor, result_id=r.id, rules=rules)
            out.case_ids[r.id] = case.id
    return out


def follow_up_pending(*, session: Session, actor: Actor, since: datetime | None = None,
                      rules: EnforcementRules | None = None) -> FollowUp:
    """Follow up every stored first screen that still lacks its case or alert.

    For results that entered through a path that did not call ``follow_up`` (a file import, the
    instrument listener): run after them, or periodically (``lims case sweep``).
    """
    rules = rules or load_enforcement_rules()
    rapid = list(session.exec(select(Method.id).where(Method.is_rapid)))
    wanted = set(rules.alert_verdicts) | set(rules.case_verdicts)
    q = (select(TestResult.id, TestResult.verdict, Alert.id, EnforcementCase.id)
         .outerjoin(Alert, Alert.result_id == TestResult.id)
         .outerjoin(EnforcementCase, EnforcementCase.result_id == TestResult.id)
         .where(TestResult.method_id.in_(rapid), TestResult.retest_of_id.is_(None),
                TestResult.status != "voided", TestResult.verdict.in_(wanted)))
    if since is not None:
        q = q.where(TestResult.tested_at >= since)
    todo = [rid for rid, verdict, alert_id, case_id in session.exec(q)
            if (verdict in rules.alert_verdicts and alert_id is None)
            or (verdict in rules.case_verdicts and case_id is None)]
    out = FollowUp()
    for i in range(0, len(todo), 500):
        part = follow_up(session=session, actor=actor, result_ids=todo[i:i + 500], rules=rules)
        out.case_ids.update(part.case_ids)
        out.alert_ids.update(part.alert_ids)
    return out


def regrade_vendors_of(*, session: Session, actor: Actor, result_ids: list[int]) -> list[int]:
    """Grade again the vendors whose newest results these are, as of the newest of them.

    The grade follows the latest record: a batch of older results (an import of last year's
    files) leaves alone the grade decided on newer ones, and nothing depends on today's date.
    Returns the vendor ids graded.
    """
    newest: dict[int, datetime] = {}
    for i in range(0, len(result_ids), 500):
        q = (select(Sample.vendor_id, sa.func.max(TestResult.tested_at))
             .join(TestResult, TestResult.sample_id == Sample.id)
             .where(TestResult.id.in_(result_ids[i:i + 500]), Sample.vendor_id.is_not(None))
             .group_by(Sample.vendor_id))
        for vid, at in session.exec(q):
            newest[vid] = max(at, newest.get(vid, at))
    if not newest:
        return []
    latest: dict[int, datetime] = {}
    vids = sorted(newest)
    for i in range(0, len(vids), 500):
        q = (select(Sample.vendor_id, sa.func.max(TestResult.tested_at))
             .join(TestResult, TestResult.sample_id == Sample.id)
             .where(Sample.vendor_id.in_(vids[i:i + 500])).group_by(Sample.vendor_id))
        latest.update(session.exec(q).all())
    due = [v for v in vids if newest[v] >= latest.get(v, newest[v])]
    if due:
        recompute_grades(session=session, actor=actor, vendor_ids=due,
                         at=max(newest[v] for v in due))
    return due
