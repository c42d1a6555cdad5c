"""Outreach: volunteer teams, events, service hours, patrols and grid supervision.

Figures per team and month or year ("159 events, 636 service hours"): events run, service hours
(summed from ``EventService``), people served and talks (on the event), samples tested (samples
taken at the event), household instruments verified (rows of the metering table ``meter_check``
for the event, when that table exists), volunteers registered and active. ``report_csv`` exports
the rows.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from lims.errors import NotFound, RowError, ValidationFailed
from lims.models import (
    EventService,
    EventTeam,
    GridGroup,
    Market,
    OutreachEvent,
    Sample,
    User,
    Volunteer,
    VolunteerTeam,
)
from lims.models.enums import EventKind
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import local_tz

PERMISSION = "events.manage"
#: The household-instrument checks of the calibration area (issue 5): counted per event.
METER_CHECK_TABLE = "meter_check"


@dataclass(frozen=True)
class TeamPeriodRow:
    team_id: int
    team: str
    period: str               # YYYY or YYYY-MM
    events: int
    service_hours: float
    volunteers_served: int    # distinct volunteers who served
    people_served: int
    samples_tested: int
    instruments_verified: int
    talks: int
    registered_volunteers: int
    active_volunteers: int


def _bad(field: str, message: str, what: str = "event"):
    raise ValidationFailed([RowError(what, field, message)], what)


def create_team(*, session: Session, actor: Actor, name: str, county: str = "",
                leader: str = "") -> VolunteerTeam:
    require(actor, PERMISSION)
    if not name.strip():
        _bad("name", "empty team name", "team")
    if session.exec(select(VolunteerTeam).where(VolunteerTeam.name == name.strip())).first():
        _bad("name", f"a team named {name!r} exists", "team")
    team = VolunteerTeam(name=name.strip(), county=county, leader=leader)
    session.add(team)
    session.flush()
    audit.record(session=session, actor=actor, action="team.create", entity="team",
                 entity_id=team.id, new={"name": team.name, "county": county})
    return team


def add_volunteer(*, session: Session, actor: Actor, team_id: int, name: str,
                  phone: str = "", active: bool = True,
                  registered_at: datetime | None = None) -> Volunteer:
    require(actor, PERMISSION)
    if session.get(VolunteerTeam, team_id) is None:
        raise NotFound(f"no volunteer team with id {team_id}")
    if not name.strip():
        _bad("name", "empty volunteer name", "volunteer")
    v = Volunteer(team_id=team_id, name=name.strip(), phone=phone, active=active)
    if registered_at is not None:
        v.registered_at = registered_at
    session.add(v)
    session.flush()
    return v


def set_volunteer_active(*, session: Session, actor: Actor, volunteer_id: int,
                         active: bool) -> Volunteer:
    require(actor, PERMISSION)
    v = session.get(Volunteer, volunteer_id)
    if v is None:
        raise NotFound(f"no volunteer with id {volunteer_id}")
    v.active = active
    session.add(v)
    session.flush()
    return v


def create_event(*, session: Session, actor: Actor, name: str, kind: str, starts_at: datetime,
                 team_ids: list[int], ends_at: datetime | None = None, place: str = "",
                 county: str = "", market_id: int | None = None, people_served: int = 0,
                 talks_given: int = 0) -> OutreachEvent:
    """An outreach event run by one or more teams."""
    require(actor, PERMISSION)
    errors = []
    try:
        EventKind(kind)
    except ValueError:
        errors.append(RowError("event", "kind", f"unknown kind {kind!r}; known: "
                                                f"{', '.join(k.value for k in EventKind)}"))
    if starts_at.tzinfo is None:
        errors.append(RowError("event", "starts_at", "timestamp without time zone"))
    elif ends_at is not None and (ends_at.tzinfo is None or ends_at < starts_at):
        errors.append(RowError("event", "ends_at", "before the start or without time zone"))
    if people_served < 0 or talks_given < 0:
        errors.append(RowError("event", "people_served", "counts must not be negative"))
    teams = [session.get(VolunteerTeam, t) for t in team_ids]
    if not team_ids or any(t is None for t in teams):
        errors.append(RowError("event", "team_ids", f"unknown or missing team(s) {team_ids}"))
    if market_id is not None and session.get(Market, market_id) is None:
        errors.append(RowError("event", "market_id", f"no market with id {market_id}"))
    if errors:
        raise ValidationFailed(errors, "event")
    ev = OutreachEvent(name=name, kind=kind, place=place, county=county, market_id=market_id,
                       team=teams[0].name, starts_at=starts_at, ends_at=ends_at,
                       people_served=people_served, talks_given=talks_given)
    session.add(ev)
    session.flush()
    session.add_all([EventTeam(event_id=ev.id, team_id=t.id) for t in teams])
    audit.record(session=session, actor=actor, action="event.create", entity="event",
                 entity_id=ev.id, new={"name": name, "kind": kind, "teams": team_ids})
    session.flush()
    return ev


def record_service(*, session: Session, actor: Actor, event_id: int, volunteer_id: int,
                   hours: float) -> EventService:
    """Hours a volunteer served at an event (replaces an earlier figure for the same pair)."""
    require(actor, PERMISSION)
    if session.get(OutreachEvent, event_id) is None:
        raise NotFound(f"no outreach event with id {event_id}")
    if session.get(Volunteer, volunteer_id) is None:
        raise NotFound(f"no volunteer with id {volunteer_id}")
    if not 0 < hours <= 24:
        _bad("hours", f"{hours} h is not a plausible service time (0 < hours ≤ 24)", "service")
    row = session.exec(select(EventService).where(EventService.event_id == event_id,
                                                  EventService.volunteer_id == volunteer_id)
                       ).first()
    if row is None:
        row = EventService(event_id=event_id, volunteer_id=volunteer_id, hours=hours)
    row.hours = hours
    session.add(row)
    session.flush()
    return row


def update_event_counts(*, session: Session, actor: Actor, event_id: int,
                        people_served: int | None = None,
                        talks_given: int | None = None) -> OutreachEvent:
    require(actor, PERMISSION)
    ev = session.get(OutreachEvent, event_id)
    if ev is None:
        raise NotFound(f"no outreach event with id {event_id}")
    for name, v in (("people_served", people_served), ("talks_given", talks_given)):
        if v is not None:
            if v < 0:
                _bad(name, "must not be negative")
            setattr(ev, name, v)
    session.add(ev)
    session.flush()
    return ev


def _meter_counts(session: Session, event_ids: list[int]) -> dict[int, int]:
    table = SQLModel.metadata.tables.get(METER_CHECK_TABLE)
    if table is None or "event_id" not in table.c or not event_ids:
        return {}
    rows = session.connection().execute(
        sa.select(table.c.event_id, sa.func.count()).where(table.c.event_id.in_(event_ids))
        .group_by(table.c.event_id))
    return {eid: int(n) for eid, n in rows}


def team_report(*, session: Session, year: int, by_month: bool = True,
                team_id: int | None = None, tz: ZoneInfo | None = None) -> list[TeamPeriodRow]:
    """Figures per team and month (or per team for the year with ``by_month=False``)."""
    tz = tz or local_tz()
    teams = {t.id: t for t in session.exec(select(VolunteerTeam))}
    links = session.exec(select(EventTeam)).all()
    events = {e.id: e for e in session.exec(select(OutreachEvent).where(
        OutreachEvent.id.in_({lk.event_id for lk in links})))} if links else {}
    ev_ids = list(events)
    samples: dict[int, int] = dict(session.connection().execute(
        sa.select(Sample.__table__.c.event_id, sa.func.count())
        .where(Sample.__table__.c.event_id.in_(ev_ids))
        .group_by(Sample.__table__.c.event_id)).all()) if ev_ids else {}
    meters = _meter_counts(session, ev_ids)
    vols = session.exec(select(Volunteer)).all()
    service = session.exec(select(EventService, Volunteer.team_id)
                           .join(Volunteer, Volunteer.id == EventService.volunteer_id)).all()
    acc: dict[tuple[int, str], dict] = defaultdict(lambda: {
        "events": 0, "hours": 0.0, "vols": set(), "people": 0, "samples": 0, "meters": 0,
        "talks": 0})
    period_of: dict[int, str] = {}
    for eid, ev in events.items():
        local = ev.starts_at.astimezone(tz)
        if local.year != year:
            continue
        period_of[eid] = local.strftime("%Y-%m") if by_month else f"{year:04d}"
    for lk in links:
        if lk.event_id not in period_of or (team_id is not None and lk.team_id != team_id):
            continue
        ev = events[lk.event_id]
        a = acc[(lk.team_id, period_of[lk.event_id])]
        a["events"] += 1
        a["people"] += ev.people_served
        a["talks"] += ev.talks_given
        a["samples"] += samples.get(ev.id, 0)
        a["meters"] += meters.get(ev.id, 0)
    for svc, vol_team in service:
        if svc.event_id not in period_of or (team_id is not None and vol_team != team_id):
            continue
        a = acc[(vol_team, period_of[svc.event_id])]
        a["hours"] += svc.hours
        a["vols"].add(svc.volunteer_id)
    registered: dict[int, int] = defaultdict(int)
    active: dict[int, int] = defaultdict(int)
    for v in vols:
        registered[v.team_id] += 1
        active[v.team_id] += int(v.active)
    out = []
    for (tid, period), a in sorted(acc.items(), key=lambda kv: (teams[kv[0][0]].name, kv[0][1])):
        out.append(TeamPeriodRow(tid, teams[tid].name, period, a["events"], round(a["hours"], 2),
                                 len(a["vols"]), a["people"], a["samples"], a["meters"],
                                 a["talks"], registered[tid], active[tid]))
    return out


def report_csv(rows: list[TeamPeriodRow]) -> str:
    """CSV of ``team_report`` rows (English column names, UTF-8)."""
    buf = io.StringIO()
    names = [f.name for f in fields(TeamPeriodRow)]
    w = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(asdict(r))
    return buf.getvalue()


def markets_in_grid_order(*, session: Session, username: str | None = None,
                          grid_group_id: int | None = None) -> list[Market]:
    """All markets, the user's (or the given) grid group's first, then by group and name."""
    if grid_group_id is None and username:
        user = session.exec(select(User).where(User.username == username)).first()
        grid_group_id = user.grid_group_id if user else None
    markets = session.exec(select(Market)).all()
    names = {g.id: g.name for g in session.exec(select(GridGroup))}
    return sorted(markets, key=lambda m: (m.grid_group_id != grid_group_id
                                          if grid_group_id is not None else False,
                                          names.get(m.grid_group_id, "\uffff"), m.name))


@dataclass(frozen=True)
class TeamSummary:
    id: int
    name: str
    county: str
    leader: str
    registered_volunteers: int
    active_volunteers: int


@dataclass
class EventDetail:
    event: OutreachEvent
    teams: list[str]
    service: list[tuple[str, float]]   # (volunteer name, hours)
    service_hours: float
    samples_tested: int
    instruments_verified: int


def list_teams(*, session: Session) -> list[TeamSummary]:
    """Teams with their registered and active volunteer counts."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for v in session.exec(select(Volunteer)):
        counts[v.team_id][0] += 1
        counts[v.team_id][1] += int(v.active)
    return [TeamSummary(t.id, t.name, t.county, t.leader, *counts[t.id])
            for t in session.exec(select(VolunteerTeam).order_by(VolunteerTeam.name))]


def list_events(*, session: Session, team_id: int | None = None,
                year: int | None = None, tz: ZoneInfo | None = None) -> list[OutreachEvent]:
    """Events, newest first (of one team and/or one local calendar year)."""
    tz = tz or local_tz()
    q = select(OutreachEvent)
    if team_id is not None:
        q = q.join(EventTeam, EventTeam.event_id == OutreachEvent.id).where(
            EventTeam.team_id == team_id)
    rows = session.exec(q.order_by(OutreachEvent.starts_at.desc())).all()
    if year is not None:
        rows = [e for e in rows if e.starts_at.astimezone(tz).year == year]
    return list(rows)


def event_detail(*, session: Session, event_id: int) -> EventDetail:
    """One event: its teams, who served how many hours, samples tested, instruments verified."""
    ev = session.get(OutreachEvent, event_id)
    if ev is None:
        raise NotFound(f"no outreach event with id {event_id}")
    teams = session.exec(select(VolunteerTeam.name).join(
        EventTeam, EventTeam.team_id == VolunteerTeam.id).where(EventTeam.event_id == event_id)
        .order_by(VolunteerTeam.name)).all()
    service = [(name, hours) for name, hours in session.exec(
        select(Volunteer.name, EventService.hours)
        .join(EventService, EventService.volunteer_id == Volunteer.id)
        .where(EventService.event_id == event_id).order_by(Volunteer.name))]
    samples = session.connection().execute(
        sa.select(sa.func.count()).select_from(Sample.__table__)
        .where(Sample.__table__.c.event_id == event_id)).scalar_one()
    return EventDetail(ev, list(teams), service, round(sum(h for _, h in service), 2),
                       int(samples), _meter_counts(session, [event_id]).get(event_id, 0))
