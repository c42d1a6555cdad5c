"""Night-market patrols (夜市巡查): route, officers, stalls checked, samples tested, issues found
and the photos taken, recorded at the market on a phone (issue 6, issue 13)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from lims.errors import RowError, ValidationFailed
from lims.files import attachments
from lims.models import Market, PatrolLog
from lims.security import audit
from lims.security.auth import Actor, require
from lims.settings import load_settings
from lims.timeutil import now

PERMISSION = "events.manage"
MAX_PHOTOS = 6


def record_patrol(*, session: Session, actor: Actor, route: str, started_at: datetime,
                  ended_at: datetime | None = None, market_id: int | None = None,
                  staff: str = "", stalls_checked: int = 0, samples_tested: int = 0,
                  issues_found: int = 0, issues: str = "",
                  photos: list[tuple[bytes, str]] = ()) -> PatrolLog:
    """One night-market patrol. The route defaults to the market's name; times must be aware,
    not in the future (beyond LIMS_FUTURE_TOLERANCE_MINUTES) and the end after the start.
    ``photos``: (bytes, file name) of up to MAX_PHOTOS PNG/JPEG pictures (LIMS_ATTACHMENT_MAX_MB
    each), attachments of the patrol (lims.files.attachments, content-addressed under
    LIMS_VAR_DIR/attachments/); ``photos`` of the record lists them."""
    require(actor, PERMISSION)
    errors = []
    market = session.get(Market, market_id) if market_id is not None else None
    if market_id is not None and market is None:
        errors.append(RowError("patrol", "market_id", f"no market with id {market_id}"))
    route = route.strip() or (market.name if market else "")
    if not route:
        errors.append(RowError("patrol", "route", "empty route (name the market or the route)"))
    latest = now() + timedelta(minutes=load_settings().future_tolerance_minutes)
    for name, ts in (("started_at", started_at), ("ended_at", ended_at)):
        if ts is None:
            continue
        if ts.tzinfo is None:
            errors.append(RowError("patrol", name, "timestamp without time zone"))
        elif ts > latest:
            errors.append(RowError("patrol", name, f"{ts.isoformat()} is in the future"))
    if (ended_at is not None and ended_at.tzinfo is not None and started_at.tzinfo is not None
            and ended_at < started_at):
        errors.append(RowError("patrol", "ended_at", "the patrol ends before it starts"))
    for name, v in (("stalls_checked", stalls_checked), ("samples_tested", samples_tested),
                    ("issues_found", issues_found)):
        if v < 0:
            errors.append(RowError("patrol", name, "must not be negative"))
    if issues_found > 0 and not issues.strip():
        errors.append(RowError("patrol", "issues", "describe the issues found"))
    if len(photos) > MAX_PHOTOS:
        errors.append(RowError("patrol", "photos", f"{len(photos)} photos; at most {MAX_PHOTOS}"))
    for data, name in photos:
        try:
            attachments.check(data, name, types=attachments.IMAGE_TYPES, field="photos")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors, "patrol")
    p = PatrolLog(market_id=market_id, route=route[:300], started_at=started_at,
                  ended_at=ended_at, staff=staff.strip()[:300], stalls_checked=stalls_checked,
                  samples_tested=samples_tested, issues_found=issues_found,
                  issues=issues.strip()[:2000], recorded_by=actor.username)
    session.add(p)
    session.flush()
    stored = [attachments.attach(session, actor, "patrol", p.id, name, data,
                                 types=attachments.IMAGE_TYPES, field="photos")
              for data, name in photos]
    p.photos = [{"path": attachments.relative_path(f.sha256), "sha256": f.sha256,
                 "mime": f.media_type, "attachment_id": f.id} for f in stored]
    session.flush()
    audit.record(session=session, actor=actor, action="patrol.record", entity="patrol",
                 entity_id=p.id, new={"market_id": market_id, "route": p.route,
                                      "started_at": started_at, "stalls_checked": stalls_checked,
                                      "issues_found": issues_found,
                                      "photos": [f.sha256 for f in stored]})
    return p


def list_patrols(*, session: Session, market_id: int | None = None,
                 limit: int | None = None) -> list[PatrolLog]:
    """Patrols, newest first (of one market; at most ``limit``)."""
    q = select(PatrolLog)
    if market_id is not None:
        q = q.where(PatrolLog.market_id == market_id)
    q = q.order_by(PatrolLog.started_at.desc(), PatrolLog.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return list(session.exec(q))
