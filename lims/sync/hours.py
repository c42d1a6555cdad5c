"""Volunteers' service hours go up after the changes (which create the teams and events).

Hours (``EventService``: one figure per volunteer and event, replaced when edited) and the
volunteers themselves are not audited, so they are not in the change outbox. They are few, so a
push sends all of them whenever they changed since the last push (``SyncPeer.hours_digest``:
SHA-256 of what was sent), as ``POST /api/v1/hours``, by natural keys: the event by name and start
time, the volunteer by team name and name. The server stores each through the outreach service
(``lims.outreach.events.record_service``, which replaces the figure: idempotent), registering a
volunteer it does not know yet (``add_volunteer``), as ``station:NAME``. An item the server
refuses (e.g. its event's creation is parked) is reported, and everything is sent again on the
next push (the digest is kept only when all went in).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from lims.errors import LimsError, NotFound
from lims.models import EventService, OutreachEvent, SyncPeer, Volunteer, VolunteerTeam
from lims.models.enums import Role
from lims.outreach import events
from lims.security.auth import Actor
from lims.sync.http import Central


def items(session: Session) -> list[dict[str, Any]]:
    q = (select(EventService, OutreachEvent, Volunteer, VolunteerTeam)
         .join(OutreachEvent, OutreachEvent.id == EventService.event_id)
         .join(Volunteer, Volunteer.id == EventService.volunteer_id)
         .join(VolunteerTeam, VolunteerTeam.id == Volunteer.team_id)
         .order_by(EventService.id))
    return [{"event": e.name, "starts_at": e.starts_at.isoformat(), "team": t.name,
             "volunteer": v.name, "hours": float(es.hours)}
            for es, e, v, t in session.exec(q)]


def push_hours(session: Session, central: Central, row: SyncPeer,
               counts: dict[str, Any]) -> None:
    rows = items(session)
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False)
                            .encode("utf-8")).hexdigest()
    if not rows or digest == row.hours_digest:
        return
    answer = central.call("POST", "/hours", {"hours": rows})
    refused = [a for a in answer.get("hours") or [] if a.get("status") == "refused"]
    counts["sent"] += len(rows)
    counts["stored"] += int(answer.get("stored", 0))
    counts["refused"] += len(refused)
    counts["messages"] = [a.get("message", "") for a in refused]
    if not refused:
        row.hours_digest = digest
        session.add(row)
        session.commit()


def apply_hours(*, session: Session, station: str,
                hours: list[dict[str, Any]]) -> list[dict[str, str]]:
    """On the server, in the caller's transaction, each item in a savepoint."""
    actor = Actor(f"station:{station}", Role.FIELD_TESTER)
    out: list[dict[str, str]] = []
    for item in hours:
        what = f"{item['volunteer']} ({item['team']}) at {item['event']} {item['starts_at']}"
        try:
            with session.begin_nested():
                at = datetime.fromisoformat(item["starts_at"])
                event_id = session.exec(select(OutreachEvent.id).where(
                    OutreachEvent.name == item["event"], OutreachEvent.starts_at == at)).first()
                if event_id is None:
                    raise NotFound(f"no outreach event {item['event']!r} starting {at} here")
                team_id = session.exec(select(VolunteerTeam.id).where(
                    VolunteerTeam.name == item["team"])).first()
                if team_id is None:
                    raise NotFound(f"no volunteer team named {item['team']!r} here")
                volunteer = session.exec(select(Volunteer).where(
                    Volunteer.team_id == team_id, Volunteer.name == item["volunteer"])).first()
                volunteer = volunteer or events.add_volunteer(
                    session=session, actor=actor, team_id=team_id, name=item["volunteer"])
                events.record_service(session=session, actor=actor, event_id=event_id,
                                      volunteer_id=volunteer.id, hours=item["hours"])
        except LimsError as exc:
            out.append({"status": "refused", "message": f"{what}: {exc}"})
            continue
        out.append({"status": "stored"})
    return out
