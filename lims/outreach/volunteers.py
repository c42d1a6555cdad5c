"""Who may log service hours at an event: the active volunteers of the teams that ran it.

(Teams and volunteers are created in ``lims.outreach.events`` and the set-up forms.)"""

from __future__ import annotations

from sqlmodel import Session, select

from lims.models import EventTeam, Volunteer


def event_volunteers(*, session: Session, event_id: int) -> list[Volunteer]:
    """Active volunteers of the teams that ran the event, by name."""
    teams = select(EventTeam.team_id).where(EventTeam.event_id == event_id)
    return list(session.exec(select(Volunteer).where(Volunteer.team_id.in_(teams),
                                                     Volunteer.active).order_by(Volunteer.name)))
