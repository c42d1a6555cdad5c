"""The unbound queue: readings that found no sample, until a person binds or voids them.

``bind_unbound`` sends the kept reading through the intake pipeline again, now naming the
sample — verdict, gate, rollups, case and alert follow as for any reading — and marks it bound
with the new result; ``void_unbound`` keeps it, marked voided, with the reason. Both audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from lims.errors import Conflict, InvalidInput, NotFound
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn, Stored
from lims.models import Instrument, UnboundReading
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import now


def list_unbound(*, session: Session, status: str = "waiting",
                 limit: int = 500) -> list[dict[str, Any]]:
    """Kept readings (oldest first) with their instrument, channel, time and why."""
    q = (select(UnboundReading, Instrument.serial_no)
         .outerjoin(Instrument, Instrument.id == UnboundReading.instrument_id)
         .order_by(UnboundReading.tested_at, UnboundReading.id).limit(limit))
    if status != "all":
        q = q.where(UnboundReading.status == status)
    return [{"id": u.id, "instrument": serial, "channel": u.channel, "method": u.method,
             "tested_at": u.tested_at, "reason": u.reason, "status": u.status,
             "raw": u.reading.get("raw", {}), "result_id": u.result_id}
            for u, serial in session.exec(q)]


def _waiting(session: Session, unbound_id: int) -> UnboundReading:
    u = session.get(UnboundReading, unbound_id)
    if u is None:
        raise NotFound(f"no unbound reading with id {unbound_id}")
    if u.status != "waiting":
        raise Conflict(f"unbound reading {unbound_id} is already {u.status}")
    return u


def bind_unbound(*, session: Session, actor: Actor, unbound_id: int,
                 sample_code: str) -> Stored:
    """Bind a kept reading to a sample: it goes through the intake pipeline now."""
    require(actor, "results.create")
    u = _waiting(session, unbound_id)
    d = dict(u.reading)
    d["tested_at"] = datetime.fromisoformat(d["tested_at"])
    if d.get("received_at"):   # a port reading's receive time (issue 19)
        d["received_at"] = datetime.fromisoformat(d["received_at"])
    d.update(sample_code=sample_code.strip().upper(), ingest_key=u.ingest_key,
             row=f"unbound {u.id}")
    report = accept_readings(session=session, actor=actor, readings=[ReadingIn(**d)])
    (st,) = report.stored
    if st.unbound_id is not None:
        raise InvalidInput(f"sample {sample_code!r}: the reading still finds no sample")
    u.status, u.result_id = "bound", st.result_id
    u.decided_by, u.decided_at = actor.username, now()
    session.add(u)
    session.flush()
    audit.record(session=session, actor=actor, action="unbound.bind", entity="unbound_reading",
                 entity_id=u.id, new={"sample_code": st.sample_code, "result_id": st.result_id})
    return st


def void_unbound(*, session: Session, actor: Actor, unbound_id: int, reason: str) -> None:
    """Void a kept reading (a blank run, a spilled tube …): kept, marked, with the reason."""
    require(actor, "results.review")
    if not reason or not reason.strip():
        raise InvalidInput(f"reason: required to void unbound reading {unbound_id}")
    u = _waiting(session, unbound_id)
    u.status, u.decision_reason = "voided", reason.strip()[:300]
    u.decided_by, u.decided_at = actor.username, now()
    session.add(u)
    session.flush()
    audit.record(session=session, actor=actor, action="unbound.void", entity="unbound_reading",
                 entity_id=u.id, reason=u.decision_reason)
