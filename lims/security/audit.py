"""The audit trail: every change is an AuditEvent, hash-chained to the one before.

hash = sha256(prev_hash + canonical JSON of the event's fields). ``verify`` walks the chain and
names the first event whose hash or link does not match.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import InvalidInput
from lims.models import AuditEvent
from lims.security import chainhead
from lims.security.auth import Actor
from lims.storage.engine import begin_write
from lims.timeutil import now

GENESIS = "0" * 64
CHAIN_LOCK = 0x4C494D53  # PostgreSQL advisory lock key of the audit chain ("LIMS")


def _digest(prev_hash: str, ev: AuditEvent) -> str:
    body = {
        "at": ev.at.isoformat(), "actor": ev.actor, "action": ev.action, "entity": ev.entity,
        "entity_id": ev.entity_id, "old": ev.old, "new": ev.new, "reason": ev.reason,
    }
    blob = prev_hash + json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


_INSERT = AuditEvent.__table__.insert()   # one statement object: compiled once, then cached
_COLUMNS = [c.name for c in AuditEvent.__table__.columns if c.name != "id"]
_HEAD = "lims.audit.head"   # session.info: (transaction, chain head hash) of the last append


def _innermost(session: Session):
    return session.get_nested_transaction() or session.get_transaction()


def _last_hash(session: Session) -> str:
    """The hash of the chain's newest event (read once per transaction: the chain lock is held
    to its end, so only this transaction appends meanwhile; a savepoint gives a fresh read)."""
    cached = session.info.get(_HEAD)
    if cached is not None and cached[0] is _innermost(session):
        return cached[1]
    t = AuditEvent.__table__
    last = session.connection().execute(
        sa.select(t.c.hash).order_by(t.c.id.desc()).limit(1)).scalar()
    return last if last else GENESIS


def record(*, session: Session, actor: Actor, action: str, entity: str, entity_id: Any,
           old: dict | None = None, new: dict | None = None, reason: str = "") -> AuditEvent:
    """Append one event to the chain (in the caller's transaction)."""
    # serialise writers of the chain so two transactions cannot fork it (held to commit)
    session.connection()   # begins the transaction the cache is keyed on
    cached = session.info.get(_HEAD)
    if cached is None or cached[0] is not _innermost(session):
        begin_write(session, lock_key=CHAIN_LOCK)
    session.flush()   # what the caller changed before, as the head query's autoflush did
    prev = _last_hash(session)
    ev = AuditEvent(at=now().replace(microsecond=0), actor=actor.username, action=action,
                    entity=entity, entity_id=str(entity_id),
                    old=_jsonable(old), new=_jsonable(new), reason=reason, prev_hash=prev, hash="")
    ev.hash = _digest(prev, ev)
    # one INSERT (the event refers to nothing the session holds)
    ev.id = session.connection().execute(_INSERT, {c: getattr(ev, c) for c in _COLUMNS}
                                         ).inserted_primary_key[0]
    session.info[_HEAD] = (_innermost(session), ev.hash)
    chainhead.note_extended(session)   # the head file follows at commit
    return ev


def _jsonable(d: dict | None) -> dict | None:
    if d is None:
        return None
    return json.loads(json.dumps(d, ensure_ascii=False, default=str))


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None
    problem: str = ""
    head: str = GENESIS  # hash of the last good event: note it down to anchor the chain

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(*, session: Session) -> ChainReport:
    prev = GENESIS
    n = 0
    for ev in session.exec(select(AuditEvent).order_by(AuditEvent.id)):
        n += 1
        if ev.prev_hash != prev:
            return ChainReport(n, ev.id, f"event {ev.id}: prev_hash does not match event before",
                               prev)
        if _digest(prev, ev) != ev.hash:
            return ChainReport(n, ev.id, f"event {ev.id}: content does not match its hash", prev)
        prev = ev.hash
    return ChainReport(n, head=prev)


def events(*, session: Session, entity: str | None = None, entity_id: Any = None,
           actor_name: str | None = None, limit: int = 100) -> list[AuditEvent]:
    """The newest ``limit`` events, newest first, optionally of one entity (and id) or actor."""
    if limit < 1:
        raise InvalidInput(f"limit: must be at least 1, got {limit}")
    q = select(AuditEvent)
    if entity:
        q = q.where(AuditEvent.entity == entity)
    if entity_id is not None:
        q = q.where(AuditEvent.entity_id == str(entity_id))
    if actor_name:
        q = q.where(AuditEvent.actor == actor_name)
    return list(session.exec(q.order_by(AuditEvent.id.desc()).limit(limit)))
