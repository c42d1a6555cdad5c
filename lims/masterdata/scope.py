"""Who may change which master data: admins everything (``masterdata.edit``); managers
(``masterdata.county``) the grid groups, markets, vendors, market instruments, teams and
volunteers of their own county — the county of their grid group. Kits, lab instruments and the
set-up workbook stay with admins.
"""

from __future__ import annotations

from sqlmodel import Session, select

from lims.errors import PermissionDenied
from lims.models import GridGroup, User
from lims.security.auth import Actor, require

EVERYWHERE = "masterdata.edit"
OWN_COUNTY = "masterdata.county"


def county_of(session: Session, actor: Actor) -> str | None:
    """The county of the actor's grid group, or None."""
    user = session.exec(select(User).where(User.username == actor.username)).first()
    if user is None or user.grid_group_id is None:
        return None
    group = session.get(GridGroup, user.grid_group_id)
    return group.county if group else None


def may_edit_any(actor: Actor) -> bool:
    return actor.can(EVERYWHERE) or actor.can(OWN_COUNTY)


def require_any(actor: Actor) -> None:
    """The actor may change some master data (admin, or a manager for their county)."""
    if not actor.can(EVERYWHERE):
        require(actor, OWN_COUNTY)


def require_county(session: Session, actor: Actor, *counties: str | None) -> None:
    """The actor may change records of every county named (None: a record of no county, such
    as a lab instrument — admins only)."""
    if actor.can(EVERYWHERE):
        return
    require(actor, OWN_COUNTY)
    own = county_of(session, actor)
    for county in counties:
        if own is None or county != own:
            where = f"county {county!r}" if county else "records of no county"
            raise PermissionDenied(f"{actor.username} ({actor.role.value}) may change master "
                                   f"data of their own county only ({own or 'none set'}), not "
                                   f"{where}")


def counties(session: Session, actor: Actor) -> list[str] | None:
    """The counties the actor may edit: None for all (admins), else their own (or none)."""
    if actor.can(EVERYWHERE):
        return None
    own = county_of(session, actor) if actor.can(OWN_COUNTY) else None
    return [own] if own else []
