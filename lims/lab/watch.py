"""Watching the field methods (issue 19): an alert to the lab when a kit lot misses too much.

``check_lots`` computes the rapid-vs-lab agreement per method and kit lot
(``lims.reporting.agreement``, KJ 201902 annex A) and raises a ``LabAlert`` of kind
``kit_lot_fnr`` for every lot whose false-negative rate (lab positives the kit called negative ÷
lab positives) is above the evaluation limit of ``rapid_evaluation.toml``. Results that recorded
no kit lot are taken together per method (subject ``method:<code>``), so a method used without
lot records is watched too.

* A lot is judged only once it has at least ``MIN_LAB_POSITIVES`` lab-positive pairs: one missed
  positive out of two says nothing about a lot.
* An alert is raised **once** per lot (unique ``kind`` + ``subject``): later checks, and the lot
  going under and over the limit again, do not repeat it. The lab acknowledges it.
* The check runs after every batch that stores lab (non-rapid) re-tests — so after
  ``lims.enforcement.confirmation.record_confirmatory`` and the demo's lab results — via
  ``after_lab_results``, called by the intake pipeline; ``lims lab watch`` runs it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import NotFound
from lims.models import LabAlert, Method, TestResult
from lims.reporting.agreement import (
    AgreementRow,
    EvaluationLimits,
    agreement_report,
    read_evaluation_limits,
)
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import now

KIND_LOT_FNR = "kit_lot_fnr"
MIN_LAB_POSITIVES = 5
PERMISSION = "results.review"   # lab technicians and admins


@dataclass(frozen=True)
class LotState:
    """One lot (or a method's results without a lot) as the check saw it."""

    subject: str
    method: str
    lot: str                       # "KIT/LOT"; "" = no lot recorded
    lab_positives: int
    false_negatives: int
    false_negative_rate: float | None
    limit: float
    over: bool                     # judged (enough pairs) and above the limit


def subject_of(row: AgreementRow) -> str:
    return f"kit_lot:{row.kit_lot_id}" if row.kit_lot_id is not None else f"method:{row.method}"


def lot_states(*, session: Session, limits: EvaluationLimits | None = None,
               min_lab_positives: int = MIN_LAB_POSITIVES) -> list[LotState]:
    limits = read_evaluation_limits() if limits is None else limits
    out = []
    for row in agreement_report(session=session, limits=limits, by="lot"):
        s = row.stats
        n1 = s.n11 + s.n12
        rate = s.false_negative_rate
        over = n1 >= min_lab_positives and rate is not None and \
            rate > limits.max_false_negative_rate
        out.append(LotState(subject_of(row), row.method, row.group, n1, s.n12, rate,
                            limits.max_false_negative_rate, over))
    return out


def check_lots(*, session: Session, actor: Actor, at: datetime | None = None,
               limits: EvaluationLimits | None = None,
               min_lab_positives: int = MIN_LAB_POSITIVES) -> list[LabAlert]:
    """Raise the alerts of the lots now over the limit that have none yet; the new alerts."""
    limits = read_evaluation_limits() if limits is None else limits
    states = [x for x in lot_states(session=session, limits=limits,
                                    min_lab_positives=min_lab_positives) if x.over]
    if not states:
        return []
    have = set(session.exec(select(LabAlert.subject).where(LabAlert.kind == KIND_LOT_FNR)))
    methods = {m.code: m.id for m in session.exec(select(Method))}
    raised = []
    for x in states:
        if x.subject in have:
            continue
        what = f"kit lot {x.lot}" if x.lot else f"method {x.method} (no kit lot recorded)"
        message = (f"{what}: false-negative rate {x.false_negative_rate:.1%} "
                   f"({x.false_negatives} of {x.lab_positives} lab positives called negative) "
                   f"> limit {limits.max_false_negative_rate:.1%} ({limits.standard})")
        alert = LabAlert(kind=KIND_LOT_FNR, subject=x.subject, method_id=methods.get(x.method),
                         kit_lot_id=int(x.subject.split(":")[1]) if x.lot else None,
                         raised_at=at or now(), message=message,
                         details={"method": x.method, "lot": x.lot,
                                  "lab_positives": x.lab_positives,
                                  "false_negatives": x.false_negatives,
                                  "rate": x.false_negative_rate,
                                  "limit": limits.max_false_negative_rate,
                                  "limit_confirmed": limits.confirmed,
                                  "standard": limits.standard})
        try:
            with session.begin_nested():      # another writer raising the same alert: keep its
                session.add(alert)
                session.flush()
        except sa.exc.IntegrityError:
            continue
        audit.record(session=session, actor=actor, action="lab_alert.raise", entity="lab_alert",
                     entity_id=alert.id, new={"kind": alert.kind, "subject": alert.subject,
                                              "message": message})
        raised.append(alert)
    return raised


def after_lab_results(*, session: Session, actor: Actor, result_ids: list[int]) -> list[LabAlert]:
    """The intake pipeline's hook: check the lots when the batch stored a lab re-test."""
    if not result_ids:
        return []
    lab = session.exec(
        select(TestResult.id).join(Method, Method.id == TestResult.method_id)
        .where(TestResult.id.in_(result_ids), TestResult.retest_of_id.is_not(None),
               Method.is_rapid.is_(False)).limit(1)).first()
    return check_lots(session=session, actor=actor) if lab is not None else []


def list_alerts(*, session: Session, open_only: bool = False) -> list[LabAlert]:
    q = select(LabAlert)
    if open_only:
        q = q.where(LabAlert.acknowledged_at.is_(None))
    return list(session.exec(q.order_by(LabAlert.raised_at.desc(), LabAlert.id.desc())))


def acknowledge(*, session: Session, actor: Actor, alert_id: int,
                at: datetime | None = None) -> LabAlert:
    require(actor, PERMISSION)
    alert = session.get(LabAlert, alert_id)
    if alert is None:
        raise NotFound(f"no lab alert with id {alert_id}")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = at or now(), actor.username
        session.add(alert)
        audit.record(session=session, actor=actor, action="lab_alert.acknowledge",
                     entity="lab_alert", entity_id=alert.id, new={"at": alert.acknowledged_at})
    return alert
