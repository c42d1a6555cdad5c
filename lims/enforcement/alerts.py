"""Alerts to grid groups and their response times (domain.md §1: staff on site within 10 min).

A positive or suspicious result raises an ``Alert`` to the grid group of its market. The group
acknowledges it and records arrival on site. ``response_report`` measures raise → arrival against
the target copied onto each alert from ``refdata/enforcement.toml`` when it was raised.

Share within target = alerts with arrival ≤ target ÷ all alerts of the group and month (an alert
nobody arrived for counts as outside the target); median and worst are over arrived alerts.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from lims.enforcement import notices
from lims.enforcement.rules import EnforcementRules, load_enforcement_rules
from lims.errors import NotFound, RowError, ValidationFailed
from lims.models import (
    Alert,
    Commodity,
    EnforcementCase,
    GridGroup,
    Market,
    Sample,
    TestResult,
    User,
    Vendor,
)
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import local_tz, now, refuse_future

PERMISSION = "cases.manage"


@dataclass(frozen=True)
class ResponseRow:
    grid_group_id: int | None
    grid_group: str
    month: str                  # YYYY-MM (local time of raising)
    alerts: int
    acknowledged: int
    arrived: int
    within_target: int
    share_within_target: float | None
    median_minutes: float | None
    worst_minutes: float | None
    median_ack_minutes: float | None
    target_minutes: float


def raise_alert(*, session: Session, actor: Actor, result_id: int, at: datetime | None = None,
                rules: EnforcementRules | None = None, known_new: bool = False) -> Alert | None:
    """Raise the alert of a result (None when its verdict does not alert; idempotent).
    ``known_new``: the caller read that the result has no alert (a batch's follow-up)."""
    require(actor, PERMISSION)
    existing = None if known_new else session.exec(
        select(Alert).where(Alert.result_id == result_id)).first()
    if existing is not None:
        return existing
    result = session.get(TestResult, result_id)
    if result is None:
        raise NotFound(f"no test result with id {result_id}")
    rules = rules or load_enforcement_rules()
    if result.verdict not in rules.alert_verdicts:
        return None
    market = session.get(Market, result.market_id) if result.market_id else None
    alert = Alert(result_id=result_id, market_id=result.market_id,
                  grid_group_id=market.grid_group_id if market else None, level=result.verdict,
                  raised_at=at or result.tested_at, target_minutes=rules.alert_target_minutes)
    session.add(alert)
    session.flush()
    audit.record(session=session, actor=actor, action="alert.raise", entity="alert",
                 entity_id=alert.id, new={"result_id": result_id, "level": alert.level,
                                          "grid_group_id": alert.grid_group_id})
    notices.enqueue_for_alert(session, alert)
    return alert


def raise_alerts(*, session: Session, actor: Actor, result_ids: list[int],
                 rules: EnforcementRules | None = None, known_new: bool = False,
                 at: dict[int, datetime | None] | None = None) -> dict[int, Alert]:
    """``raise_alert`` for many results (the same alerts, events and notices, in the order
    given) with one flush for the new alerts. ``at``: result id -> when raised (a screen
    confirmed by its re-tests: then; else at its test time). Returns result id -> alert
    (raised or found)."""
    at = at or {}
    require(actor, PERMISSION)
    rules = rules or load_enforcement_rules()
    out: dict[int, Alert] = {}
    new: list[Alert] = []
    for rid in result_ids:
        if known_new:
            result = session.get(TestResult, rid)
            if result is None:
                raise NotFound(f"no test result with id {rid}")
            if result.verdict not in rules.alert_verdicts:
                continue
            market = session.get(Market, result.market_id) if result.market_id else None
            out[rid] = alert = Alert(
                result_id=rid, market_id=result.market_id,
                grid_group_id=market.grid_group_id if market else None, level=result.verdict,
                raised_at=at.get(rid) or result.tested_at,
                target_minutes=rules.alert_target_minutes)
            new.append(alert)
        else:
            alert = raise_alert(session=session, actor=actor, result_id=rid, rules=rules,
                                at=at.get(rid))
            if alert is not None:
                out[rid] = alert
    if new:
        session.add_all(new)
        session.flush()
        for alert in new:
            audit.record(session=session, actor=actor, action="alert.raise", entity="alert",
                         entity_id=alert.id, new={"result_id": alert.result_id,
                                                  "level": alert.level,
                                                  "grid_group_id": alert.grid_group_id})
            notices.enqueue_for_alert(session, alert)
    return out


def _get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert with id {alert_id}")
    return alert


def _check_at(alert: Alert, at: datetime | None, what: str) -> datetime:
    at = at or now().replace(microsecond=0)
    if at.tzinfo is None:
        raise ValidationFailed([RowError(f"alert {alert.id}", what, "timestamp without time zone")],
                               "alert")
    if at < alert.raised_at:
        raise ValidationFailed([RowError(f"alert {alert.id}", what,
                                         f"{at.isoformat()} is before the alert was raised "
                                         f"({alert.raised_at.isoformat()})")], "alert")
    return refuse_future(at, what, f"alert {alert.id}")


def acknowledge(*, session: Session, actor: Actor, alert_id: int,
                at: datetime | None = None) -> Alert:
    require(actor, PERMISSION)
    alert = _get(session, alert_id)
    if alert.acknowledged_at is not None:
        return alert
    alert.acknowledged_at = _check_at(alert, at, "acknowledged_at")
    alert.acknowledged_by = actor.username
    session.add(alert)
    audit.record(session=session, actor=actor, action="alert.acknowledge", entity="alert",
                 entity_id=alert.id, new={"at": alert.acknowledged_at})
    return alert


def arrive(*, session: Session, actor: Actor, alert_id: int, at: datetime | None = None) -> Alert:
    """Staff arrived on site (acknowledges the alert too when that was not recorded)."""
    require(actor, PERMISSION)
    alert = _get(session, alert_id)
    if alert.arrived_at is not None:
        raise ValidationFailed([RowError(f"alert {alert_id}", "arrived_at",
                                         f"arrival already recorded at "
                                         f"{alert.arrived_at.isoformat()}")], "alert")
    at = _check_at(alert, at, "arrived_at")
    if alert.acknowledged_at is None or alert.acknowledged_at > at:
        alert.acknowledged_at, alert.acknowledged_by = at, actor.username
    alert.arrived_at, alert.arrived_by = at, actor.username
    session.add(alert)
    minutes = (at - alert.raised_at).total_seconds() / 60
    audit.record(session=session, actor=actor, action="alert.arrive", entity="alert",
                 entity_id=alert.id, new={"at": at, "minutes": round(minutes, 2)})
    return alert


def list_alerts(*, session: Session, grid_group_id: int | None = None,
                open_only: bool = False) -> list[Alert]:
    q = select(Alert)
    if grid_group_id is not None:
        q = q.where(Alert.grid_group_id == grid_group_id)
    if open_only:
        q = q.where(Alert.arrived_at.is_(None))
    return list(session.exec(q.order_by(Alert.raised_at.desc(), Alert.id.desc())))


@dataclass(frozen=True)
class InboxItem:
    """One alert as a grid officer's inbox shows it: where, what, and the clocks running."""

    alert_id: int
    level: str
    raised_at: datetime
    target_minutes: float
    acknowledged_at: datetime | None
    acknowledged_by: str
    arrived_at: datetime | None
    market_id: int | None
    market: str
    grid_group_id: int | None
    grid_group: str
    stall: str
    vendor: str
    commodity_zh: str
    commodity_en: str
    sample_code: str
    case_id: int | None
    objection_deadline: datetime | None   # art. 88 window of the case, once the vendor is told

    def elapsed_minutes(self, at: datetime) -> float:
        """Minutes from raising to arrival (or to ``at`` while nobody has arrived)."""
        return ((self.arrived_at or at) - self.raised_at).total_seconds() / 60

    def overdue(self, at: datetime) -> bool:
        return self.elapsed_minutes(at) > self.target_minutes


def user_grid_group(*, session: Session, username: str) -> int | None:
    """The grid group a user account belongs to (None: no account or no group)."""
    user = session.exec(select(User).where(User.username == username)).first()
    return user.grid_group_id if user else None


def inbox(*, session: Session, grid_group_id: int | None = None, open_only: bool = True,
          limit: int = 200) -> list[InboxItem]:
    """Alerts for the inbox, newest first: of one grid group (None: every group), only those
    nobody has arrived for unless ``open_only`` is False."""
    q = (select(Alert, TestResult, Sample, Vendor, Market, Commodity, GridGroup,
                EnforcementCase)
         .join(TestResult, TestResult.id == Alert.result_id)
         .join(Sample, Sample.id == TestResult.sample_id, isouter=True)
         .join(Vendor, Vendor.id == Sample.vendor_id, isouter=True)
         .join(Market, Market.id == Alert.market_id, isouter=True)
         .join(Commodity, Commodity.id == TestResult.commodity_id, isouter=True)
         .join(GridGroup, GridGroup.id == Alert.grid_group_id, isouter=True)
         .join(EnforcementCase, EnforcementCase.result_id == Alert.result_id, isouter=True))
    if grid_group_id is not None:
        q = q.where(Alert.grid_group_id == grid_group_id)
    if open_only:
        q = q.where(Alert.arrived_at.is_(None))
    q = q.order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(limit)
    out = []
    for a, _r, smp, v, m, c, g, case in session.exec(q):
        deadline = (case.result_received_at + timedelta(hours=case.objection_window_hours)
                    if case is not None and case.result_received_at else None)
        out.append(InboxItem(
            alert_id=a.id, level=a.level, raised_at=a.raised_at, target_minutes=a.target_minutes,
            acknowledged_at=a.acknowledged_at, acknowledged_by=a.acknowledged_by,
            arrived_at=a.arrived_at, market_id=a.market_id, market=m.name if m else "",
            grid_group_id=a.grid_group_id, grid_group=g.name if g else "",
            stall=v.stall if v else "", vendor=v.name if v else "",
            commodity_zh=c.name_zh if c else "", commodity_en=c.name_en if c else "",
            sample_code=smp.code if smp else "", case_id=case.id if case else None,
            objection_deadline=deadline))
    return out


def _month(ts: datetime, tz) -> str:
    return ts.astimezone(tz).strftime("%Y-%m")


def response_report(*, session: Session, month: str | None = None, year: int | None = None,
                    grid_group_id: int | None = None,
                    tz: ZoneInfo | None = None) -> list[ResponseRow]:
    """Response times per grid group and month (optionally one month ``YYYY-MM`` or a year)."""
    tz = tz or local_tz()
    if month is not None:
        try:
            datetime.strptime(month, "%Y-%m")
        except ValueError:
            raise ValidationFailed([RowError("report", "month", f"{month!r} is not YYYY-MM")],
                                   "report") from None
    q = select(Alert)
    if grid_group_id is not None:
        q = q.where(Alert.grid_group_id == grid_group_id)
    groups: dict[tuple[int | None, str], list[Alert]] = defaultdict(list)
    for a in session.exec(q):
        m = _month(a.raised_at, tz)
        if month is not None and m != month:
            continue
        if year is not None and not m.startswith(f"{year:04d}-"):
            continue
        groups[(a.grid_group_id, m)].append(a)
    names = {g.id: g.name for g in session.exec(select(GridGroup))}
    rows = []
    for (gid, m), alerts in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0] or 0)):
        arrive_min = [(a.arrived_at - a.raised_at).total_seconds() / 60
                      for a in alerts if a.arrived_at]
        ack_min = [(a.acknowledged_at - a.raised_at).total_seconds() / 60
                   for a in alerts if a.acknowledged_at]
        within = sum(1 for a in alerts if a.arrived_at and
                     (a.arrived_at - a.raised_at).total_seconds() / 60 <= a.target_minutes)
        targets = {a.target_minutes for a in alerts}
        rows.append(ResponseRow(
            grid_group_id=gid, grid_group=names.get(gid, "(no grid group)"), month=m,
            alerts=len(alerts), acknowledged=len(ack_min), arrived=len(arrive_min),
            within_target=within, share_within_target=within / len(alerts),
            median_minutes=statistics.median(arrive_min) if arrive_min else None,
            worst_minutes=max(arrive_min) if arrive_min else None,
            median_ack_minutes=statistics.median(ack_min) if ack_min else None,
            target_minutes=max(targets)))
    return rows
