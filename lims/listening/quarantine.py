"""Quarantine: bytes from an instrument that could not become a stored reading, kept for review.

Nothing heard on a port is dropped: a decode error, a message naming another (unknown)
instrument, a reading whose sample, commodity or method cannot be resolved — each becomes a
``QuarantineItem`` with the raw bytes, the reason and where it sits in the journal. An item is
stored once (``dedupe_key``), so restarts and replays do not multiply it; when a replay after a
profile fix stores the bytes, the item is marked resolved (never deleted).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from lims.models import QuarantineItem
from lims.timeutil import now


@dataclass(frozen=True)
class JournalSpan:
    """Where bytes sit in an instrument's journal: RX byte positions within one file."""

    file: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.file}@{self.start}-{self.end}"

    @classmethod
    def parse(cls, text: str) -> JournalSpan | None:
        try:
            file, span = text.rsplit("@", 1)
            a, b = span.split("-")
            return cls(file, int(a), int(b))
        except ValueError:
            return None

    def overlaps(self, other: JournalSpan) -> bool:
        return self.file == other.file and self.start < other.end and other.start < self.end


def put(*, session: Session, instrument_serial: str, driver: str, profile: str | None,
        stage: str, reason: str, raw: bytes, span: JournalSpan | None,
        reading: dict[str, Any] | None = None, claimed_serial: str | None = None,
        received_at: datetime | None = None) -> tuple[QuarantineItem, bool]:
    """Add an item unless the same bytes at the same journal place are already there.

    Returns (item, created).
    """
    key = hashlib.sha256("\x00".join([instrument_serial, stage, str(span or "")]).encode()
                         + b"\x00" + raw).hexdigest()
    existing = session.exec(select(QuarantineItem).where(QuarantineItem.dedupe_key == key)).first()
    if existing is not None:
        return existing, False
    item = QuarantineItem(received_at=received_at or now(), instrument_serial=instrument_serial,
                          claimed_serial=claimed_serial, driver=driver, profile=profile,
                          stage=stage, reason=reason[:4000], raw=raw, reading=reading,
                          journal_ref=str(span or ""), dedupe_key=key)
    session.add(item)
    session.flush()
    return item, True


def resolve_overlapping(*, session: Session, instrument_serial: str, span: JournalSpan,
                        resolution: str) -> int:
    """Mark open items whose bytes overlap ``span`` as resolved (a replay stored them)."""
    n = 0
    rows = session.exec(select(QuarantineItem).where(
        QuarantineItem.instrument_serial == instrument_serial,
        QuarantineItem.resolved_at.is_(None),
        QuarantineItem.journal_ref.startswith(f"{span.file}@"))).all()
    for item in rows:
        other = JournalSpan.parse(item.journal_ref)
        if other is not None and other.overlaps(span):
            item.resolved_at = now()
            item.resolution = resolution[:500]
            session.add(item)
            n += 1
    return n


def list_items(*, session: Session, instrument_serial: str | None = None,
               include_resolved: bool = False, limit: int = 200) -> list[QuarantineItem]:
    q = select(QuarantineItem).order_by(QuarantineItem.id.desc()).limit(limit)
    if instrument_serial:
        q = q.where(QuarantineItem.instrument_serial == instrument_serial)
    if not include_resolved:
        q = q.where(QuarantineItem.resolved_at.is_(None))
    return list(session.exec(q).all())


def to_dict(item: QuarantineItem) -> dict[str, Any]:
    return {
        "id": item.id, "received_at": item.received_at.isoformat(),
        "instrument": item.instrument_serial, "claimed_serial": item.claimed_serial,
        "driver": item.driver, "profile": item.profile, "stage": item.stage,
        "reason": item.reason, "raw_hex": item.raw.hex(),
        "raw_text": item.raw.decode("gb18030", errors="replace"),
        "journal_ref": item.journal_ref, "reading": item.reading,
        "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
        "resolution": item.resolution,
    }
