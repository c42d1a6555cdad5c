"""The audit trail: every change is an AuditEvent, hash-chained to the one before.

hash = sha256(prev_hash + canonical JSON of the event's fields). ``verify`` walks the chain and
names the first event whose hash or link does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
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
_QUEUE = "lims.audit.queue"   # session.info: events queued by ``deferred``


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


def _event(actor: Actor, action: str, entity: str, entity_id: Any, old: dict | None,
           new: dict | None, reason: str) -> AuditEvent:
    return AuditEvent(at=now().replace(microsecond=0), actor=actor.username, action=action,
                      entity=entity, entity_id=str(entity_id), old=_jsonable(old),
                      new=_jsonable(new), reason=reason, prev_hash="", hash="")


def record(*, session: Session, actor: Actor, action: str, entity: str, entity_id: Any,
           old: dict | None = None, new: dict | None = None, reason: str = "") -> AuditEvent:
    """Append one event to the chain (in the caller's transaction).

    Inside ``deferred(session)`` the event is queued (its time taken now; no id or hash yet)
    and appended, in order, when the block ends."""
    queue = session.info.get(_QUEUE)
    if queue is not None:
        ev = _event(actor, action, entity, entity_id, old, new, reason)
        queue.append(ev)
        return ev
    # serialise writers of the chain so two transactions cannot fork it (held to commit)
    session.connection()   # begins the transaction the cache is keyed on
    cached = session.info.get(_HEAD)
    if cached is None or cached[0] is not _innermost(session):
        begin_write(session, lock_key=CHAIN_LOCK)
    session.flush()   # what the caller changed before, as the head query's autoflush did
    prev = _last_hash(session)
    ev = _event(actor, action, entity, entity_id, old, new, reason)
    ev.prev_hash = prev
    ev.hash = _digest(prev, ev)
    # one INSERT (the event refers to nothing the session holds)
    ev.id = session.connection().execute(_INSERT, {c: getattr(ev, c) for c in _COLUMNS}
                                         ).inserted_primary_key[0]
    session.info[_HEAD] = (_innermost(session), ev.hash)
    chainhead.note_extended(session)   # the head file follows at commit
    return ev


def record_many(*, session: Session, events: list[AuditEvent]) -> list[AuditEvent]:
    """Append ``events`` (built like ``record`` builds one: ``at``, actor, action, entity,
    entity_id, old, new, reason set) to the chain in their order, with one INSERT statement:
    the same rows and hashes as one ``record`` call per event at the same times. Their
    ``prev_hash``, ``hash`` and ``id`` are set."""
    if not events:
        return events
    session.connection()
    cached = session.info.get(_HEAD)
    if cached is None or cached[0] is not _innermost(session):
        begin_write(session, lock_key=CHAIN_LOCK)
    session.flush()
    prev = _last_hash(session)
    for ev in events:
        ev.prev_hash = prev
        ev.hash = prev = _digest(prev, ev)
    conn = session.connection()
    if conn.dialect.insert_executemany_returning:   # the ids in one round trip
        ids = list(conn.execute(_INSERT.returning(AuditEvent.__table__.c.id,
                                                  sort_by_parameter_order=True),
                                [{c: getattr(ev, c) for c in _COLUMNS} for ev in events]
                                ).scalars())
    else:
        ids = [conn.execute(_INSERT, {c: getattr(ev, c) for c in _COLUMNS}
                            ).inserted_primary_key[0] for ev in events]
    for ev, i in zip(events, ids, strict=True):
        ev.id = i
    session.info[_HEAD] = (_innermost(session), prev)
    chainhead.note_extended(session)
    return events


def lock_chain(session: Session) -> None:
    """Take the audit chain's write lock now (held to commit), as appending an event would.

    For a writer that is about to update rows other writers also update (the rollups): taking
    the chain lock first puts every such writer in one queue, so none waits for another's row
    while holding a row that one needs."""
    session.connection()
    begin_write(session, lock_key=CHAIN_LOCK)


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Within the block ``record`` queues its events; at its end they are appended in order
    with ``record_many`` (same rows and hashes as appended one by one). For a batch's
    follow-up, which records one event per entity: nothing in the block may read the audit
    table or roll back a savepoint it recorded in, and an error in it leaves the queued events
    unwritten (the caller rolls back)."""
    if session.info.get(_QUEUE) is not None:   # nested: the outer block writes them
        yield
        return
    queue: list[AuditEvent] = []
    session.info[_QUEUE] = queue
    try:
        yield
    finally:
        session.info.pop(_QUEUE, None)
    record_many(session=session, events=queue)


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
