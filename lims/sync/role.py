"""Whether this database is a field station (it has pulled from a central server), and the
refusal of local edits of what the central server owns.

Kept apart from ``lims.sync.pull`` and ``lims.sync.push`` so that the app's banner and the
masterdata services can ask without importing the HTTP client and the calibration maths.
"""

from __future__ import annotations

from sqlmodel import Session, select

from lims.errors import Conflict
from lims.models import SyncPeer


def is_station(session: Session) -> bool:
    """True once this database has pulled from a central server."""
    return session.exec(select(SyncPeer.id).where(SyncPeer.pulled_at.is_not(None))).first() \
        is not None


def refuse_on_station(session: Session, what: str) -> None:
    """Masterdata services call this before a local edit of places, vendors or instruments."""
    if is_station(session):
        raise Conflict(f"{what}: this database is a field station; places, vendors and "
                       "instruments come from the central server (`lims sync pull`): change "
                       "them there")
