"""What a new county still has to set up (the admin's first-run checklist, issue 13)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from lims.models import GridGroup, Instrument, KitLot, Market, User, Vendor
from lims.models.enums import Role


@dataclass(frozen=True)
class SetupStep:
    key: str          # grid_groups, markets, vendors, instruments, kits, testers, managers
    count: int
    required: bool    # the county cannot test without it

    @property
    def done(self) -> bool:
        return self.count > 0


def _count(session: Session, model, *where) -> int:
    q = sa.select(sa.func.count()).select_from(model.__table__)
    for w in where:
        q = q.where(w)
    return int(session.execute(q).scalar_one())


def setup_steps(*, session: Session) -> list[SetupStep]:
    """The set-up steps in the order a county does them, with how many records exist."""
    role = User.__table__.c.role
    return [
        SetupStep("grid_groups", _count(session, GridGroup, GridGroup.active), False),
        SetupStep("markets", _count(session, Market, Market.active), True),
        SetupStep("vendors", _count(session, Vendor, Vendor.active), True),
        SetupStep("instruments", _count(session, Instrument, Instrument.active), False),
        SetupStep("kits", _count(session, KitLot, KitLot.active), False),
        SetupStep("testers", _count(session, User, User.active, role.in_(
            (Role.FIELD_TESTER.value, Role.LAB_TECHNICIAN.value))), False),
        SetupStep("managers", _count(session, User, User.active, role == Role.MANAGER.value),
                  False),
    ]


def needs_setup(*, session: Session) -> bool:
    """True while a step the county cannot test without is missing."""
    return any(s.required and not s.done for s in setup_steps(session=session))
