"""``lims sync push``: a station's results go up to the central server, in order, resumable.

The outbox is the result table itself, read in id order after the station's cursor
(``SyncPeer.last_pushed_result_id``). Each batch is sent as ``POST /api/v1/readings`` items with
the station's raw values (the server recomputes the verdict against its own thresholds and gates)
and the station's ingest key, so the server stores each reading once. The cursor moves after the
server answered: a push killed anywhere — before sending, while the server commits, after it
committed but before the answer arrived — is pushed again and the server answers "duplicate"
for what it already has. Voided results and unbound readings do not go up.
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
from lims.models.enums import ResultStatus
from lims.security.auth import Actor, require
from lims.sync.http import Central
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

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "sent": self.sent, "stored": self.stored,
                "duplicates": self.duplicates, "batches": self.batches,
                "last_result_id": self.last_result_id, "pending": self.pending}


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
    joins a file export carries), voided ones left out."""
    tr = TestResult.__table__.c
    return (export_query(session, None, None, None)
            .where(tr.id > after_id, tr.status != ResultStatus.VOIDED.value)
            .order_by(None).order_by(tr.id))


def pending_count(session: Session, url: str | None = None) -> int:
    """Results not confirmed by the server yet (by the lowest cursor when no URL is given)."""
    q = select(SyncPeer.last_pushed_result_id)
    if url:
        q = q.where(SyncPeer.url == url.rstrip("/"))
    cursors = list(session.exec(q))
    after = min(cursors) if cursors else 0
    t = TestResult.__table__.c
    return session.execute(sa.select(sa.func.count()).select_from(TestResult.__table__)
                           .where(t.id > after, t.status != ResultStatus.VOIDED.value)).scalar_one()


def _item(r, tz) -> dict[str, Any]:
    raw = r.raw or {}
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
    while True:
        rows = session.execute(_outbox(session, row.last_pushed_result_id).limit(batch)).all()
        if not rows:
            break
        items = [_item(r, tz) for r in rows]
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
    return report
