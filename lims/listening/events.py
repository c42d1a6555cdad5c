"""Turn decoder events into stored rows: test results (through the intake pipeline), weights,
quarantine.

``InstrumentContext`` is what the listener knows about the port's instrument. ``store_event``
handles one event inside the caller's transaction: an ``AnalyzerReading`` becomes a ``ReadingIn``
and goes through ``accept_readings`` (verdict recomputed, the instrument's verdict kept beside
it, stored once by ``ingest_key``, case/alert/grade followed up), a ``WeightReading`` becomes a ``MeteringReading``, and everything that
cannot be stored becomes a ``QuarantineItem`` with the reason.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from instruments.base import AnalyzerReading, Decoded, DecodeError, Event, WeightReading
from instruments.base import reading_key as base_reading_key
from lims.errors import LimsError, NotFound, ValidationFailed
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.listening import quarantine
from lims.listening.quarantine import JournalSpan
from lims.models import Instrument, Market, MeteringReading, Method, Sample
from lims.reference.lookup import RefCache
from lims.security.auth import SYSTEM
from lims.timeutil import aware

log = logging.getLogger("lims.listener")


@dataclass
class InstrumentContext:
    id: int
    serial: str
    driver: str
    profile: str | None          # name as configured
    profile_path: str | None     # resolved file (driver "profile")
    market_code: str | None
    method_code: str | None

    @classmethod
    def load(cls, session: Session, serial: str, profile_dirs: tuple[Path, ...] = ()) -> InstrumentContext:
        inst = session.exec(select(Instrument).where(Instrument.serial_no == serial)).first()
        if inst is None:
            raise NotFound(f"unknown instrument serial number {serial!r} (add it first)")
        market = session.get(Market, inst.market_id) if inst.market_id else None
        method = session.get(Method, inst.method_id) if inst.method_id else None
        path = None
        if inst.driver == "profile":
            if not inst.profile:
                raise LimsError(f"instrument {serial}: driver 'profile' needs a profile name")
            from instruments.profiles import find_profile

            path = str(find_profile(inst.profile, profile_dirs))
        return cls(inst.id, inst.serial_no, inst.driver, inst.profile, path,
                   market.code if market else None, method.code if method else None)


@dataclass
class Outcome:
    kind: str            # result / duplicate / unbound / weight / quarantined / skipped
    detail: str = ""
    row_id: int | None = None


def ingest_key(r: AnalyzerReading, serial: str) -> str:
    """The reading's message id (``instruments.base.reading_key``) plus its channel and test."""
    base = base_reading_key(r, serial)
    return hashlib.sha256(f"{base}|{r.channel or ''}|{r.test_id or ''}".encode()).hexdigest()


def reading_dict(r: AnalyzerReading) -> dict[str, Any]:
    return {"sample_id": r.sample_id, "test_id": r.test_id, "channel": r.channel,
            "values": r.values, "verdict": r.verdict,
            "tested_at": r.tested_at.isoformat() if r.tested_at else None,
            "operator": r.operator, "instrument_serial": r.instrument_serial,
            "flags": r.flags, "status": r.status, "extra": r.extra}


def to_reading_in(r: AnalyzerReading, ctx: InstrumentContext, cache: RefCache, *,
                  received_at: datetime, sample_exists: bool, tz: ZoneInfo) -> ReadingIn:
    method = r.extra.get("method") or ctx.method_code
    if not method:
        raise LimsError(f"no method: test item {r.test_id!r} is not mapped in the profile's "
                        "[tests] and the instrument has no default method")
    raw: dict[str, Any] = {k: v for k, v in r.values.items() if v is not None}
    raw.update(r.extra.get("invalid", {}))      # the sentinel as printed: judged invalid
    for k in ("cutoff", "limit"):
        if k in r.extra:
            raw[f"instrument_{k}"] = r.extra[k]
    analyte = r.extra.get("analyte")
    try:
        m: Method | None = cache.method(method)
    except LimsError:
        m = None
    if analyte is None and m is not None and m.kind == "lab_quantitative":
        analyte = r.test_id
    commodity = r.extra.get("sample_name") or (None if sample_exists else r.sample_id)
    return ReadingIn(
        method=method, raw=raw,
        tested_at=aware(r.tested_at, tz) if r.tested_at else received_at,
        sample_code=r.sample_id if sample_exists else None,
        market=None if sample_exists else (ctx.market_code or r.extra.get("tested_unit")),
        commodity=None if sample_exists else commodity, analyte=analyte,
        instrument_serial=ctx.serial, channel=r.channel,
        instrument_verdict=r.extra.get("verdict_outcome") or r.verdict,
        tested_by=r.operator or "", source="listener",
        ingest_key=ingest_key(r, ctx.serial), received_at=received_at,
    )


def store_event(*, session: Session, ctx: InstrumentContext, cache: RefCache, event: Event,
                span: JournalSpan, received_at: datetime, tz: ZoneInfo,
                replay: bool = False) -> Outcome:
    """Store one Decoded/DecodeError event (others are skipped) in the caller's transaction."""
    def q(stage: str, reason: str, raw: bytes, reading: dict | None = None,
          claimed: str | None = None) -> Outcome:
        item, created = quarantine.put(session=session, instrument_serial=ctx.serial,
                                       driver=ctx.driver, profile=ctx.profile, stage=stage,
                                       reason=reason, raw=raw, span=span, reading=reading,
                                       claimed_serial=claimed, received_at=received_at)
        if created:
            log.warning("%s: quarantined #%s (%s): %s", ctx.serial, item.id, stage, reason)
        return Outcome("quarantined", reason, item.id)

    if isinstance(event, DecodeError):
        return q("decode", event.message, event.raw)
    if not isinstance(event, Decoded):
        return Outcome("skipped")
    r = event.reading
    if isinstance(r, WeightReading):
        return _store_weight(session, ctx, r, span, received_at)
    claimed = r.instrument_serial
    if claimed and claimed.strip().lower() != ctx.serial.strip().lower():
        return q("instrument", f"the message names instrument {claimed!r}, but this port "
                 f"listens for {ctx.serial!r}: unknown instrument", r.raw, reading_dict(r), claimed)
    exists = bool(r.sample_id) and session.exec(
        select(Sample.id).where(Sample.code == r.sample_id)).first() is not None
    try:
        reading_in = to_reading_in(r, ctx, cache, received_at=received_at, sample_exists=exists,
                                   tz=tz)
        reading_in.row = reading_in.journal_ref = str(span)
        report = accept_readings(session=session, actor=SYSTEM, readings=[reading_in],
                                 cache=cache, tz=tz)
    except sa.exc.SQLAlchemyError:
        raise          # database trouble (also a running restore): backlog, never quarantine
    except ValidationFailed as exc:
        reason = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        return q("store", reason, r.raw, reading_dict(r))
    except LimsError as exc:
        return q("store", str(exc), r.raw, reading_dict(r))
    (stored,) = report.stored
    if replay:
        quarantine.resolve_overlapping(session=session, instrument_serial=ctx.serial, span=span,
                                       resolution=f"replayed: stored as result {stored.result_id}")
    if stored.duplicate:
        return Outcome("duplicate", "already stored", stored.result_id)
    if stored.unbound_id is not None:   # no sample on its channel: queued for a person
        log.info("%s: reading on channel %s kept unbound (#%s): %s", ctx.serial, r.channel,
                 stored.unbound_id, stored.verdict.reasons[0])
        return Outcome("unbound", stored.verdict.reasons[0], stored.unbound_id)
    log.info("%s: stored result %s sample %s channel %s: %s (instrument said %s)%s", ctx.serial,
             stored.result_id, stored.sample_code, r.channel, stored.verdict.outcome.value,
             r.verdict, " MISMATCH" if stored.mismatch else "")
    return Outcome("result", stored.verdict.outcome.value, stored.result_id)


def _store_weight(session: Session, ctx: InstrumentContext, w: WeightReading, span: JournalSpan,
                  received_at: datetime) -> Outcome:
    key = hashlib.sha256(f"{ctx.serial}|{span}".encode() + b"\x00" + w.raw).hexdigest()
    prior = session.exec(select(MeteringReading.id).where(MeteringReading.ingest_key == key)).first()
    if prior is not None:
        return Outcome("duplicate", "already stored", prior)
    row = MeteringReading(instrument_id=ctx.id, received_at=received_at, value=w.value,
                          unit=w.unit, stability=str(w.stability.value), mode=w.mode,
                          header=w.header, raw=w.raw, ingest_key=key)
    session.add(row)
    session.flush()
    log.info("%s: weight %s %s (%s)", ctx.serial, w.value, w.unit, w.stability.value)
    return Outcome("weight", f"{w.value} {w.unit}", row.id)
