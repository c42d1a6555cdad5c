"""Batches (worksheets): registered samples put on an instrument's channels.

``open_batch`` puts sample codes on channels of one instrument (and the method's control on its
channel) from a moment on; ``close_batch`` ends its window. While a batch is open (or for a
reading timed inside its window), a reading that names only its instrument and channel is bound
by the intake pipeline to the sample on that channel (``BatchBook.sample_for``). A channel may
hold one sample per batch; a sample may sit in one open batch at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from lims.errors import Conflict, NotFound, RowError, ValidationFailed
from lims.models import Batch, BatchSlot, Commodity, Instrument, Sample, TestResult, Vendor
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import now


@dataclass
class BatchView:
    id: int
    instrument: str
    opened_at: datetime
    closed_at: datetime | None
    slots: list[dict] = field(default_factory=list)   # channel, sample_code, control


def _instrument(session: Session, serial: str) -> Instrument:
    inst = session.exec(select(Instrument).where(Instrument.serial_no == serial.strip())).first()
    if inst is None:
        raise NotFound(f"unknown instrument {serial!r}")
    return inst


def open_batch(*, session: Session, actor: Actor, instrument_serial: str,
               channels: dict[str, str], control: str | None = None,
               at: datetime | None = None) -> BatchView:
    """Put samples (channel → sample code) on the instrument; its previous open batch closes."""
    require(actor, "results.create")
    at = at or now().replace(microsecond=0)
    inst = _instrument(session, instrument_serial)
    errors: list[RowError] = []
    codes = {ch: code.strip().upper() for ch, code in channels.items()}
    samples = {s.code: s for s in session.exec(select(Sample).where(
        Sample.code.in_(list(codes.values()))))} if codes else {}
    for ch, code in codes.items():
        if code not in samples:
            errors.append(RowError(f"channel {ch}", "sample", f"unknown sample code {code!r} "
                                   "(register it first: lims samples register)"))
    if control is not None and control in codes:
        errors.append(RowError(f"channel {control}", "control", "the control's channel also "
                               "holds a sample"))
    seen: dict[str, str] = {}
    for ch, code in codes.items():
        if code in seen:
            errors.append(RowError(f"channel {ch}", "sample", f"{code} is already on channel "
                                   f"{seen[code]}"))
        seen[code] = ch
    if not codes and control is None:
        errors.append(RowError("batch", "channels", "put at least one sample on a channel"))
    if errors:
        raise ValidationFailed(errors, "batch")
    for old in session.exec(select(Batch).where(Batch.instrument_id == inst.id,
                                                Batch.closed_at.is_(None))):
        old.closed_at, old.closed_by = at, actor.username
        session.add(old)
    b = Batch(instrument_id=inst.id, opened_at=at, opened_by=actor.username)
    session.add(b)
    session.flush()
    for ch, code in codes.items():
        session.add(BatchSlot(batch_id=b.id, channel=str(ch), sample_id=samples[code].id))
    if control is not None:
        session.add(BatchSlot(batch_id=b.id, channel=str(control), control=True))
    session.flush()
    audit.record(session=session, actor=actor, action="batch.open", entity="batch",
                 entity_id=b.id, new={"instrument": inst.serial_no, "channels": codes,
                                      "control": control})
    return batch_view(session=session, batch_id=b.id)


def close_batch(*, session: Session, actor: Actor, batch_id: int,
                at: datetime | None = None) -> BatchView:
    require(actor, "results.create")
    b = session.get(Batch, batch_id)
    if b is None:
        raise NotFound(f"no batch with id {batch_id}")
    if b.closed_at is not None:
        raise Conflict(f"batch {batch_id} is already closed")
    at = at or now().replace(microsecond=0)
    if at < b.opened_at:
        raise Conflict(f"batch {batch_id} opened at {b.opened_at.isoformat()}: it cannot close "
                       "before that")
    b.closed_at, b.closed_by = at, actor.username
    session.add(b)
    session.flush()
    audit.record(session=session, actor=actor, action="batch.close", entity="batch",
                 entity_id=b.id, new={"closed_at": at.isoformat()})
    return batch_view(session=session, batch_id=b.id)


def batch_view(*, session: Session, batch_id: int) -> BatchView:
    b = session.get(Batch, batch_id)
    if b is None:
        raise NotFound(f"no batch with id {batch_id}")
    inst = session.get(Instrument, b.instrument_id)
    rows = session.exec(select(BatchSlot, Sample.code).outerjoin(
        Sample, Sample.id == BatchSlot.sample_id).where(BatchSlot.batch_id == b.id)).all()
    slots = sorted(({"channel": s.channel, "sample_code": code, "control": s.control}
                    for s, code in rows), key=lambda r: (len(r["channel"]), r["channel"]))
    return BatchView(b.id, inst.serial_no if inst else "?", b.opened_at, b.closed_at, slots)


def open_batch_of(*, session: Session, instrument_id: int) -> BatchView | None:
    """The instrument's open batch (the newest, should there be several), or None."""
    b = session.exec(select(Batch).where(Batch.instrument_id == instrument_id,
                                         Batch.closed_at.is_(None))
                     .order_by(Batch.opened_at.desc(), Batch.id.desc())).first()
    return batch_view(session=session, batch_id=b.id) if b is not None else None


def channel_results(*, session: Session, batch_id: int) -> list[dict]:
    """Each channel of the batch with its sample (code, commodity, stall) and the sample's
    newest result timed inside the batch's window (None while the instrument has not sent it):
    ``verdict``, ``value``, ``unit``, ``status``, ``tested_at``, ``result_id``, ``retest``
    (a re-test of an earlier screen) and ``results`` (how many it has in the window)."""
    view = batch_view(session=session, batch_id=batch_id)
    codes = [s["sample_code"] for s in view.slots if s["sample_code"]]
    samples = {s.code: s for s in session.exec(select(Sample).where(Sample.code.in_(codes)))
               } if codes else {}
    ids = [s.id for s in samples.values()]
    found: dict[int, list[TestResult]] = {}
    if ids:   # the window is checked here, not in SQL: on SQLite the bulk insert and the ORM
        # write an instant with zero microseconds as different text, so text comparison of
        # equal instants fails
        q = select(TestResult).where(TestResult.sample_id.in_(ids))
        for tr in session.exec(q.order_by(TestResult.tested_at, TestResult.id)):
            if view.opened_at <= tr.tested_at and (view.closed_at is None
                                                   or tr.tested_at <= view.closed_at):
                found.setdefault(tr.sample_id, []).append(tr)
    out = []
    for slot in view.slots:
        s = samples.get(slot["sample_code"] or "")
        c = session.get(Commodity, s.commodity_id) if s else None
        v = session.get(Vendor, s.vendor_id) if s and s.vendor_id else None
        rs = found.get(s.id, []) if s else []
        last = rs[-1] if rs else None
        out.append({
            "channel": slot["channel"], "control": slot["control"],
            "sample_code": slot["sample_code"],
            "commodity_zh": c.name_zh if c else None, "commodity_en": c.name_en if c else None,
            "stall": v.stall if v else None, "results": len(rs),
            "verdict": last.verdict if last else None,
            "value": last.computed_value if last else None,
            "unit": last.computed_unit if last else None,
            "status": last.status if last else None,
            "tested_at": last.tested_at if last else None,
            "result_id": last.id if last else None,
            "retest": bool(last and last.retest_of_id is not None)})
    return out


class BatchBook:
    """The batches of the instruments a batch of readings names, for binding by channel."""

    def __init__(self, session: Session, instrument_ids: set[int]):
        self.batches: dict[int, list[Batch]] = {}
        self.slots: dict[int, dict[str, str | None]] = {}   # batch id → channel → sample code
        if not instrument_ids:
            return
        for b in session.exec(select(Batch).where(Batch.instrument_id.in_(instrument_ids))
                              .order_by(Batch.opened_at.desc())):
            self.batches.setdefault(b.instrument_id, []).append(b)
        ids = [b.id for bs in self.batches.values() for b in bs]
        for i in range(0, len(ids), 500):
            for slot, code in session.exec(select(BatchSlot, Sample.code).outerjoin(
                    Sample, Sample.id == BatchSlot.sample_id)
                    .where(BatchSlot.batch_id.in_(ids[i:i + 500]))):
                self.slots.setdefault(slot.batch_id, {})[channel_key(slot.channel)] = code

    def batch_at(self, instrument_id: int, at: datetime) -> Batch | None:
        """The newest batch of the instrument whose window holds ``at``."""
        for b in self.batches.get(instrument_id, []):
            if b.opened_at <= at and (b.closed_at is None or at <= b.closed_at):
                return b
        return None

    def sample_for(self, instrument_id: int, channel: str, at: datetime
                   ) -> tuple[Batch | None, str | None]:
        """(the batch covering ``at``, the code of the sample on ``channel`` in it or None)."""
        b = self.batch_at(instrument_id, at)
        if b is None:
            return None, None
        return b, self.slots.get(b.id, {}).get(channel_key(channel))


def channel_key(channel: str | int) -> str:
    """Channels as instruments print them: ``"01"``, ``"1"`` and ``1`` are the same channel."""
    return str(channel).strip().lstrip("0") or "0"
