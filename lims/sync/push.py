"""``lims sync push``: a station's calibration records, its results, then its changes go up to
the central server, in order, resumable.

Calibration records first (``lims.sync.calibrations``): the central calibration gate must see
the station's verifications before its results arrive, or it holds results the station did not.

Results: the outbox is the result table itself, read in id order after the station's cursor
(``SyncPeer.last_pushed_result_id``). Each batch is sent as ``POST /api/v1/readings`` items with
the station's raw values *as first recorded* (the server recomputes the verdict against its own
thresholds and gates; corrections follow as changes) and the station's ingest key, so the server
stores each reading once. Voided results go up too (their void follows), so the central database
keeps them with the reason, as the station does. Unbound readings do not go up.

Changes: then the station's audit events of the kinds that sync (``lims.sync.changes``) after
``SyncPeer.last_pushed_event_id`` go up as ``POST /api/v1/changes``, each with its event id; the
server applies each once. A change is sent only once the result it refers to has been sent.
The files those changes name (patrol photos, case evidence, sample photos, calibration
certificates) go up just before them, only those
the server lacks (``lims.sync.files``).
Then volunteers' service hours (``lims.sync.hours``), whenever they changed.
A change the server refuses is parked (``lims.sync.parked``: kept with the reason, later changes
to the same result park behind it) and the push goes on; ``lims sync retry`` queues it again.
Every push also sends the station's audit chain head (``lims.security.chainhead.witness``); the
server keeps it per station as a witness against a truncated or rewritten chain.

Each cursor moves after the server answered: a push killed anywhere — before sending, while the
server commits, after it committed but before the answer arrived — is pushed again and the server
answers "duplicate" for what it already has. A 503 (the server in maintenance) stops the push
where it is (``PushReport.try_later``: the seconds the server asked to wait); nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import InvalidInput, RowError, ValidationFailed
from lims.files.results_export import export_query
from lims.models import (
    SyncPeer,
    TestResult,
)
from lims.security.auth import Actor, require
from lims.security.chainhead import witness
from lims.sync import calibrations, changes, files, hours, parked
from lims.sync.http import Central, ServerBusy
from lims.timeutil import aware, local_tz, now
from lims.wire.readings import RAW_FIELDS

MAX_BATCH = 1000  # the API's own limit per request is larger; smaller batches resume sooner


@dataclass
class PushReport:
    url: str
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    batches: int = 0
    last_result_id: int = 0
    pending: int = 0
    result_ids: list[int] = field(default_factory=list, repr=False)
    #: the change outbox: sent, applied now, applied before ("duplicate"), still waiting
    changes: dict[str, int] = field(default_factory=lambda: {
        "sent": 0, "applied": 0, "duplicates": 0, "skipped": 0, "batches": 0,
        "last_event_id": 0, "pending": 0, "parked": 0, "parked_total": 0})
    #: calibration records: sent, stored now, already there
    calibrations: dict[str, int] = field(default_factory=lambda: {
        "sent": 0, "stored": 0, "duplicates": 0})
    #: volunteers' service hours (sent whenever they changed)
    hours: dict[str, Any] = field(default_factory=lambda: {
        "sent": 0, "stored": 0, "refused": 0, "messages": []})
    #: files named by the changes: uploaded now, already on the server, missing on this station
    attachments: dict[str, int] = field(default_factory=lambda: {
        "uploaded": 0, "present": 0, "missing_here": 0, "refused": 0, "bytes": 0})
    #: the server answered 503 (maintenance): the seconds it asked to wait; nothing was lost
    try_later: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "sent": self.sent, "stored": self.stored,
                "duplicates": self.duplicates, "batches": self.batches,
                "last_result_id": self.last_result_id, "pending": self.pending,
                "changes": dict(self.changes), "calibrations": dict(self.calibrations),
                "hours": dict(self.hours), "attachments": dict(self.attachments),
                "try_later": self.try_later}


def peer(session: Session, url: str) -> SyncPeer:
    """The station's row for this central server (created on first use)."""
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"--to/--from {url!r}: give the central server's http(s):// address")
    row = session.exec(select(SyncPeer).where(SyncPeer.url == url)).first()
    if row is None:
        row = SyncPeer(url=url, last_pushed_result_id=0)
        session.add(row)
        session.flush()
    return row


def _outbox(session: Session, after_id: int):
    """The results after the cursor, in id order: the export's query (the same names and
    joins a file export carries). It stops before the first result of an import not published
    yet (``lims.files.import_publish``): the cursor must not pass it, or it would never go up."""
    from lims.files.import_publish import first_staged_id

    tr = TestResult.__table__.c
    q = (export_query(session, None, None, None)
         .where(tr.id > after_id).order_by(None).order_by(tr.id))
    first = first_staged_id(session)
    return q if first is None else q.where(tr.id < first)


def pending_count(session: Session, url: str | None = None) -> int:
    """Results not confirmed by the server yet (by the lowest cursor when no URL is given)."""
    q = select(SyncPeer.last_pushed_result_id)
    if url:
        q = q.where(SyncPeer.url == url.rstrip("/"))
    cursors = list(session.exec(q))
    after = min(cursors) if cursors else 0
    t = TestResult.__table__.c
    return session.execute(sa.select(sa.func.count()).select_from(TestResult.__table__)
                           .where(t.id > after)).scalar_one()


def pending_change_count(session: Session, url: str | None = None) -> int:
    """Changes (audit events of synced kinds) not confirmed by the server yet."""
    q = select(SyncPeer.last_pushed_event_id)
    if url:
        q = q.where(SyncPeer.url == url.rstrip("/"))
    cursors = list(session.exec(q))
    return changes.pending_changes(session, min(cursors) if cursors else 0)


def resend_changes(*, session: Session, actor: Actor, url: str, after_event: int = 0) -> int:
    """Move the change cursor for ``url`` back to ``after_event``: the next push offers every
    change after it again. For a station upgraded to a version that syncs more kinds of change
    (e.g. files on samples): the events of those kinds that the cursor had already passed were
    never sent. The server answers "duplicate" for each change it applied (it keeps every
    applied event id per station) and applies the rest; a change it refuses parks as usual.
    Returns how many changes the next push offers again. The caller commits."""
    require(actor, "sync.push")
    if after_event < 0:
        raise InvalidInput(f"--after-event must be 0 or more, got {after_event}")
    row = session.exec(select(SyncPeer).where(SyncPeer.url == url.rstrip("/"))).first()
    if row is None:
        raise InvalidInput(f"{url!r}: this station has never pushed to it (see `lims sync "
                           "status`)")
    if after_event >= row.last_pushed_event_id:
        return 0
    row.last_pushed_event_id = after_event
    session.add(row)
    session.flush()
    return changes.pending_changes(session, after_event)


def _item(r, tz, first_raw: dict[str, Any] | None = None) -> dict[str, Any]:
    raw = first_raw if first_raw is not None else (r.raw or {})
    item: dict[str, Any] = {
        "method": r.method_code, "tested_at": aware(r.tested_at, tz).isoformat(),
        "sample_code": r.code, "commodity": r.commodity_zh, "tested_by": r.tested_by or "",
        "ingest_key": r.ingest_key, "resident_purchase": bool(r.resident_purchase)}
    for key, value in (("market", r.market_code), ("vendor_stall", r.stall),
                       ("analyte", r.analyte_zh), ("instrument", r.serial_no),
                       ("channel", r.channel), ("instrument_verdict", r.instrument_verdict)):
        if value not in (None, ""):
            item[key] = value
    for k in RAW_FIELDS:
        if raw.get(k) not in (None, ""):
            item[k] = raw[k]
    return item


def push(*, session: Session, actor: Actor, central: Central, batch: int = 200,
         on_batch: Callable[[PushReport], None] | None = None) -> PushReport:
    """Send every result after the cursor, ``batch`` at a time; commit the cursor after each."""
    require(actor, "sync.push")
    if not 1 <= batch <= MAX_BATCH:
        raise InvalidInput(f"--batch must be between 1 and {MAX_BATCH}, got {batch}")
    tz = local_tz()
    row = peer(session, central.base)
    report = PushReport(url=row.url, last_result_id=row.last_pushed_result_id)
    session.commit()
    try:
        calibrations.push_calibrations(session, central, row, report.calibrations)
        _push_results(session, central, row, report, tz, batch, on_batch)
        _push_changes(session, central, row, report, batch, on_batch)
        hours.push_hours(session, central, row, report.hours)
    except ServerBusy as exc:   # maintenance: stop here; every cursor is where the server was
        session.rollback()
        report.try_later = exc.retry_after
        report.pending = pending_count(session, row.url)
        report.changes["pending"] = pending_change_count(session, row.url)
    return report


def _push_results(session: Session, central: Central, row: SyncPeer, report: PushReport,
                  tz, batch: int, on_batch: Callable[[PushReport], None] | None) -> None:
    while True:
        rows = session.execute(_outbox(session, row.last_pushed_result_id).limit(batch)).all()
        if not rows:
            break
        firsts = changes.first_raw(session, [r.id for r in rows])
        items = [_item(r, tz, firsts.get(r.id)) for r in rows]
        try:
            answer = central.call("POST", "/readings", {"readings": items})
        except ValidationFailed as exc:  # name the station's result ids, not batch indexes
            errors = [RowError(row=f"result {rows[e.row].id}" if isinstance(e.row, int)
                               and 0 <= e.row < len(rows) else e.row,
                               field=e.field, message=e.message) for e in exc.errors]
            raise ValidationFailed(errors, f"push to {row.url}: the server refused a batch "
                                           f"after result {row.last_pushed_result_id}") from None
        report.sent += len(items)
        report.stored += int(answer.get("stored", 0))
        report.duplicates += int(answer.get("duplicates", 0))
        report.batches += 1
        row.last_pushed_result_id = rows[-1].id
        row.pushed_at = now()
        session.add(row)
        session.commit()
        report.last_result_id = row.last_pushed_result_id
        if on_batch:
            on_batch(report)
    report.pending = pending_count(session, row.url)


def _send(session: Session, central: Central, row: SyncPeer, report: PushReport,
          items: list[dict[str, Any]], blocked: dict[str, int]) -> None:
    """POST the changes; park the refused ones (their result blocks the later changes to it),
    take the applied ones off the parked list. The caller commits."""
    ch = report.changes
    files.upload(central, items, report.attachments)   # the files first: the changes link them
    try:
        answer = central.call("POST", "/changes", {"changes": items,
                                                   "chain_head": witness(session)})
    except ValidationFailed as exc:  # a malformed batch: name the station's audit event ids
        errors = [RowError(row=f"change {items[e.row]['id']} ({items[e.row]['action']})"
                           if isinstance(e.row, int) and 0 <= e.row < len(items)
                           else e.row, field=e.field, message=e.message)
                  for e in exc.errors]
        raise ValidationFailed(errors, f"push to {row.url}: the server refused changes "
                                       f"after event {row.last_pushed_event_id}") from None
    for item, st in zip(items, answer.get("changes") or [], strict=False):
        if st.get("status") == "refused":
            parked.park(session, row.id, item, st.get("field") or "", st.get("message") or "")
            key = parked.result_key(item)
            if key:
                blocked.setdefault(key, item["id"])
            ch["parked"] += 1
        else:
            parked.unpark(session, row.id, item["id"])
    ch["sent"] += len(items)
    ch["applied"] += int(answer.get("applied", 0))
    ch["duplicates"] += int(answer.get("duplicates", 0))
    ch["batches"] += 1


def _waits(item: dict[str, Any], blocked: dict[str, int]) -> int:
    """The parked change this change must wait for (same result, earlier), or 0."""
    first = blocked.get(parked.result_key(item), 0)
    return first if first and first < item["id"] else 0


def _push_retries(session: Session, central: Central, row: SyncPeer, report: PushReport,
                  blocked: dict[str, int]) -> None:
    """The parked changes marked for retry go first, in event order."""
    items = []
    for ev in parked.retry_events(session, row.id):
        item, _needs = changes.item(session, ev)
        if item is None:
            parked.unpark(session, row.id, ev.id)
            continue
        first = _waits(item, blocked)
        if first:
            parked.park(session, row.id, item, "result.ingest_key",
                        f"waits for parked change {first} to the same result")
            report.changes["parked"] += 1
            continue
        items.append(item)
    for i in range(0, len(items), MAX_BATCH):
        _send(session, central, row, report, items[i:i + MAX_BATCH], blocked)
        session.commit()
    session.commit()


def _push_changes(session: Session, central: Central, row: SyncPeer, report: PushReport,
                  batch: int, on_batch: Callable[[PushReport], None] | None) -> None:
    """Send the change outbox after the results, ``batch`` at a time; refused changes park."""
    ch = report.changes
    ch["last_event_id"] = row.last_pushed_event_id
    blocked = parked.blocking(session, row.id)
    _push_retries(session, central, row, report, blocked)
    while True:
        events = changes.outbox(session, row.last_pushed_event_id, batch)
        items, last, skipped = [], row.last_pushed_event_id, 0
        for ev in events:
            item, needs = changes.item(session, ev)
            if needs > row.last_pushed_result_id:
                break   # its result was recorded after this push sent results: next push
            last = ev.id
            if item is None:
                skipped += 1
            elif _waits(item, blocked):
                parked.park(session, row.id, item, "result.ingest_key",
                            f"waits for parked change {_waits(item, blocked)} to the same "
                            "result")
                ch["parked"] += 1
            else:
                items.append(item)
        if last == row.last_pushed_event_id:
            break
        if items:
            _send(session, central, row, report, items, blocked)
        ch["skipped"] += skipped
        row.last_pushed_event_id = last
        row.pushed_at = now()
        session.add(row)
        session.commit()
        ch["last_event_id"] = last
        if on_batch and items:
            on_batch(report)
    if not ch["batches"]:   # nothing changed: the chain head goes up all the same
        central.call("POST", "/changes", {"changes": [], "chain_head": witness(session)})
        session.commit()
    ch["pending"] = pending_change_count(session, row.url)
    ch["parked_total"] = parked.parked_count(session, row.url)
