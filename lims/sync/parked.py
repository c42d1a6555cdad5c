"""Parked changes on a station: refused by the central server, kept with the reason, retried.

"Park and go on": when the server refuses a change (``"refused"`` with a field and reason: an
accept of a result its gate did not hold, a change to a result another station owns, reference
data missing there …), the station keeps it as a ``SyncParked`` row (event id, action, the ingest
key of the result it changes, field, reason, time) and the push goes on with the next changes:
one bad change no longer blocks the queue.

Order: changes to one result must apply in the station's order. So a later change to the same
result as a parked one is parked too, without sending it ("waits for parked change N"); the
server does the same inside a batch. Changes to other results, and teams, events and patrols,
go on (an event whose team was refused is refused by the server on its own: no such team).

``lims sync retry ID|--all`` marks parked changes ``retry``; the next push sends those first, in
event order, before the rest of the outbox (a retried change whose earlier parked change on the
same result is not retried stays parked). Applied (or found already applied: ``"duplicate"``) →
the row goes; refused again → it stays parked with the new reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import InvalidInput, NotFound
from lims.models import AuditEvent, SyncParked, SyncPeer
from lims.security.auth import Actor, require
from lims.timeutil import now


@dataclass
class ParkedView:
    id: int
    url: str
    event_id: int
    action: str
    result: str
    field: str
    message: str
    parked_at: datetime
    retry: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "event_id": self.event_id,
                "action": self.action, "result": self.result, "field": self.field,
                "message": self.message, "parked_at": self.parked_at.isoformat(),
                "retry": self.retry}


def result_key(item: dict[str, Any]) -> str:
    return (item.get("result") or {}).get("ingest_key") or ""


def park(session: Session, peer_id: int, item: dict[str, Any], field: str,
         message: str) -> None:
    """Keep the change ``item`` parked (or again, with the new reason)."""
    row = session.exec(select(SyncParked).where(SyncParked.peer_id == peer_id,
                                                SyncParked.event_id == item["id"])).first()
    row = row or SyncParked(peer_id=peer_id, event_id=item["id"], action=item["action"],
                            result_key=result_key(item))
    row.field, row.message, row.parked_at, row.retry = field[:100], message[:2000], now(), False
    session.add(row)


def unpark(session: Session, peer_id: int, event_id: int) -> None:
    row = session.exec(select(SyncParked).where(SyncParked.peer_id == peer_id,
                                                SyncParked.event_id == event_id)).first()
    if row is not None:
        session.delete(row)


def blocking(session: Session, peer_id: int) -> dict[str, int]:
    """Ingest key → the first parked (not retried) change to that result."""
    q = (select(SyncParked.result_key, sa.func.min(SyncParked.event_id))
         .where(SyncParked.peer_id == peer_id, SyncParked.result_key != "",
                SyncParked.retry.is_(False))
         .group_by(SyncParked.result_key))
    return dict(session.exec(q).all())


def retry_events(session: Session, peer_id: int) -> list[AuditEvent]:
    """The audit events of the changes marked for retry, in event order."""
    ids = list(session.exec(select(SyncParked.event_id).where(SyncParked.peer_id == peer_id,
                                                              SyncParked.retry)
                            .order_by(SyncParked.event_id)))
    if not ids:
        return []
    return list(session.exec(select(AuditEvent).where(AuditEvent.id.in_(ids))
                             .order_by(AuditEvent.id)))


def parked_count(session: Session, url: str | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(SyncParked.__table__)
    if url:
        q = q.join(SyncPeer.__table__, SyncPeer.__table__.c.id == SyncParked.__table__.c.peer_id
                   ).where(SyncPeer.__table__.c.url == url.rstrip("/"))
    return session.execute(q).scalar_one()


def list_parked(*, session: Session, url: str | None = None) -> list[ParkedView]:
    q = (select(SyncParked, SyncPeer.url).join(SyncPeer, SyncPeer.id == SyncParked.peer_id)
         .order_by(SyncPeer.url, SyncParked.event_id))
    if url:
        q = q.where(SyncPeer.url == url.rstrip("/"))
    return [ParkedView(p.id, u, p.event_id, p.action, p.result_key, p.field, p.message,
                       p.parked_at, p.retry) for p, u in session.exec(q)]


def retry(*, session: Session, actor: Actor, ids: list[int] | None = None,
          everything: bool = False) -> int:
    """Put parked changes (by their ids in ``lims sync parked``, or all) back in the queue; the
    next push sends them first. Returns how many."""
    require(actor, "sync.push")
    if not everything and not ids:
        raise InvalidInput("retry: give parked change id(s) (see `lims sync parked`) or --all")
    q = select(SyncParked)
    if not everything:
        q = q.where(SyncParked.id.in_(ids))
    rows = list(session.exec(q))
    if not everything:
        missing = sorted(set(ids) - {r.id for r in rows})
        if missing:
            raise NotFound(f"retry: no parked change with id {', '.join(map(str, missing))} "
                           "(see `lims sync parked`)")
    for r in rows:
        r.retry = True
        session.add(r)
    session.flush()
    return len(rows)
