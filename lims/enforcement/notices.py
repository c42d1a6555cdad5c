"""Notices to grid officers when an alert is raised (issue 15; domain.md §1: on site in 10 min).

``enqueue_for_alert`` writes one ``Notice`` per configured channel in the alert's transaction:
an e-mail to the grid group's address (SMTP, ``LIMS_SMTP_*``) and an HTTP POST of the alert as
JSON (``LIMS_NOTICE_WEBHOOK_URL``; an SMS gateway or a WeChat Work robot bridge sits behind it).
``send_due`` delivers what is due with ``smtplib`` and ``urllib``; a failure is kept with its
error and retried with back-off (30 s, doubling, at most 30 min apart) until
``LIMS_NOTICE_MAX_ATTEMPTS``, then marked failed. Each notice is committed on its own, so a crash
re-sends at most the notice in flight (at-least-once delivery; the alert id is in every message).
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlmodel import Session, select

from lims.errors import ConfigError
from lims.models import Alert, Commodity, GridGroup, Market, Notice, Sample, TestResult, Vendor
from lims.settings import int_setting, setting
from lims.timeutil import local_tz, now

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=30)
VERDICT_ZH = {"positive": "阳性", "suspicious": "可疑", "noncompliant": "不合格"}


@dataclass(frozen=True)
class Channels:
    smtp_host: str | None
    smtp_port: int
    smtp_from: str
    smtp_user: str | None
    smtp_password: str | None
    starttls: bool
    webhook_url: str | None
    max_attempts: int

    @classmethod
    def from_settings(cls) -> Channels:
        webhook = setting("LIMS_NOTICE_WEBHOOK_URL")
        if webhook and not webhook.startswith(("http://", "https://")):
            raise ConfigError(f"LIMS_NOTICE_WEBHOOK_URL must be an http(s):// URL, got {webhook!r}")
        return cls(smtp_host=setting("LIMS_SMTP_HOST"), smtp_port=int_setting("LIMS_SMTP_PORT"),
                   smtp_from=setting("LIMS_SMTP_FROM") or "lims@localhost",
                   smtp_user=setting("LIMS_SMTP_USER"),
                   smtp_password=setting("LIMS_SMTP_PASSWORD"),
                   starttls=(setting("LIMS_SMTP_STARTTLS") or "0") == "1",
                   webhook_url=webhook, max_attempts=int_setting("LIMS_NOTICE_MAX_ATTEMPTS"))


def _message(session: Session, alert: Alert) -> tuple[str, str, dict]:
    result = session.get(TestResult, alert.result_id)
    sample = session.get(Sample, result.sample_id) if result else None
    market = session.get(Market, alert.market_id) if alert.market_id else None
    vendor = session.get(Vendor, sample.vendor_id) if sample and sample.vendor_id else None
    commodity = session.get(Commodity, result.commodity_id) if result else None
    group = session.get(GridGroup, alert.grid_group_id) if alert.grid_group_id else None
    tz = local_tz()
    when = alert.raised_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    place = f"{market.name if market else '?'} {vendor.stall if vendor else ''}".strip()
    what = commodity.name_zh if commodity else "?"
    verdict_zh = VERDICT_ZH.get(alert.level, alert.level)
    minutes = f"{alert.target_minutes:g}"
    subject = (f"[快检预警 alert #{alert.id}] {place} {what} {verdict_zh} / {alert.level}")
    body = (f"{when} {place} 的{what}快检结果为{verdict_zh}(样品 {sample.code if sample else '?'})。"
            f"请在 {minutes} 分钟内到场处置,并在系统中确认、登记到场。\n\n"
            f"{when}: a rapid test of {commodity.name_en if commodity else '?'} at {place} was "
            f"{alert.level} (sample {sample.code if sample else '?'}). Please be on site within "
            f"{minutes} minutes and acknowledge and record arrival in the system.\n")
    payload = {"alert_id": alert.id, "level": alert.level, "raised_at": alert.raised_at.isoformat(),
               "target_minutes": alert.target_minutes,
               "market": market.code if market else None, "market_name": market.name if market
               else None, "vendor_stall": vendor.stall if vendor else None,
               "commodity": what, "sample_code": sample.code if sample else None,
               "grid_group": group.name if group else None,
               "officer": group.officer if group else None, "phone": group.phone if group else None,
               "text": body.split("\n\n")[0]}
    return subject, body, payload


def enqueue_for_alert(session: Session, alert: Alert, at: datetime | None = None) -> list[Notice]:
    """The alert's notices, one per configured channel (none when nothing is configured).

    Only whether a channel is set is read here (never a reason to refuse a reading); the
    channels' settings are checked when notices are sent."""
    smtp_host, webhook = setting("LIMS_SMTP_HOST"), setting("LIMS_NOTICE_WEBHOOK_URL")
    group = session.get(GridGroup, alert.grid_group_id) if alert.grid_group_id else None
    if not webhook and not (smtp_host and group is not None and group.email):
        return []
    subject, body, payload = _message(session, alert)
    due = at or now()
    out: list[Notice] = []
    if smtp_host and group is not None and group.email:
        out.append(Notice(alert_id=alert.id, channel="email", target=group.email,
                          subject=subject, body=body, payload=payload, next_attempt_at=due))
    if webhook:
        out.append(Notice(alert_id=alert.id, channel="webhook", target=webhook,
                          subject=subject, body=body, payload=payload, next_attempt_at=due))
    session.add_all(out)
    session.flush()
    return out


def _send_email(n: Notice, ch: Channels, timeout: float) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = ch.smtp_from, n.target, n.subject
    msg.set_content(n.body)
    with smtplib.SMTP(ch.smtp_host, ch.smtp_port, timeout=timeout) as smtp:
        if ch.starttls:
            smtp.starttls()
        if ch.smtp_user:
            smtp.login(ch.smtp_user, ch.smtp_password or "")
        smtp.send_message(msg)


def _send_webhook(n: Notice, timeout: float) -> None:
    data = json.dumps(n.payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(n.target, data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(req, timeout=timeout) as reply:
        reply.read()


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0   # the alert's result was voided before the notice went out
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed,
                "cancelled": self.cancelled, "errors": self.errors}


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 30 s, 1 min, 2 min … at most 30 min."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


def _voided_result(session: Session, alert_id: int) -> int | None:
    """The id of the alert's result when that result has been voided since, else None."""
    alert = session.get(Alert, alert_id)
    result = session.get(TestResult, alert.result_id) if alert is not None else None
    return result.id if result is not None and result.status == "voided" else None


def send_due(*, session: Session, at: datetime | None = None, channels: Channels | None = None,
             limit: int = 200, timeout: float = 10.0) -> SendReport:
    """Deliver the notices due at ``at`` (default now); each committed on its own."""
    channels = channels or Channels.from_settings()
    at = at or now()
    report = SendReport()
    due = list(session.exec(select(Notice).where(Notice.status == "pending",
                                                 Notice.next_attempt_at <= at)
                            .order_by(Notice.next_attempt_at, Notice.id).limit(limit)))
    for n in due:
        voided = _voided_result(session, n.alert_id)
        if voided is not None:   # e.g. a station pushed a result, then its void (lims.sync)
            n.status, n.last_error = "cancelled", f"result {voided} was voided before sending"
            report.cancelled += 1
            session.add(n)
            session.commit()
            continue
        try:
            if n.channel == "email":
                if not channels.smtp_host:
                    raise ConfigError("LIMS_SMTP_HOST is not set")
                _send_email(n, channels, timeout)
            else:
                _send_webhook(n, timeout)
        except (OSError, smtplib.SMTPException, urllib.error.URLError, ConfigError) as exc:
            n.attempts += 1
            where = (f"{channels.smtp_host}:{channels.smtp_port}" if n.channel == "email"
                     else n.target)
            n.last_error = f"{where}: {exc}"[:500]
            if n.attempts >= channels.max_attempts:
                n.status = "failed"
                report.failed += 1
            else:
                n.next_attempt_at = at + backoff(n.attempts)
                report.retrying += 1
            report.errors.append(f"notice {n.id} ({n.channel} to {n.target}): {n.last_error}")
        else:
            n.attempts += 1
            n.status, n.sent_at, n.last_error = "sent", at, ""
            report.sent += 1
        session.add(n)
        session.commit()
    return report


def list_notices(*, session: Session, status: str | None = None, limit: int = 100) -> list[Notice]:
    q = select(Notice).order_by(Notice.id.desc()).limit(limit)
    if status:
        q = q.where(Notice.status == status)
    return list(session.exec(q))
