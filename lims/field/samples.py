"""Sample registration at the stall: the tester takes produce, the sample gets its short code and
a label before any reading exists.

A reading that later names the code (on the label's QR or Code 128, typed, scanned into an
analyzer, or in an imported file) is bound to this sample by the intake pipeline; the first
reading is the sample's screen, so the vendor's grade, the case and the public board learn whose
produce it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from lims.errors import NotFound, RowError, ValidationFailed
from lims.intake.readings import new_sample_code
from lims.models import OutreachEvent, Sample
from lims.reference.lookup import RefCache
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import now

#: how far ahead of this machine's clock a typed time may be (clocks of laptops drift)
FUTURE_TOLERANCE = timedelta(minutes=30)


@dataclass(frozen=True)
class RegisteredSample:
    id: int
    sample_code: str
    market: str | None
    vendor_stall: str | None
    commodity: str
    taken_at: datetime
    taken_by: str


def register_sample(*, session: Session, actor: Actor, commodity: str,
                    market: str | None = None, vendor_stall: str | None = None,
                    resident_purchase: bool = False, event_id: int | None = None,
                    taken_at: datetime | None = None, taken_by: str | None = None,
                    cache: RefCache | None = None) -> RegisteredSample:
    """Register one sample taken at a stall (or a resident's purchase at an event)."""
    require(actor, "results.create")
    cache = cache or RefCache.load(session)
    where = "sample"
    errors: list[RowError] = []
    taken_at = taken_at or now().replace(microsecond=0)
    if taken_at.tzinfo is None:
        errors.append(RowError(where, "taken_at", "timestamp without time zone"))
    elif taken_at > now() + FUTURE_TOLERANCE:
        errors.append(RowError(where, "taken_at", f"{taken_at.isoformat()} is in the future "
                               f"(more than {FUTURE_TOLERANCE} ahead of this machine's clock)"))
    m = v = c = None
    try:
        c = cache.commodity(commodity)
    except NotFound as exc:
        errors.append(RowError(where, "commodity", str(exc)))
    if event_id is not None and session.get(OutreachEvent, event_id) is None:
        errors.append(RowError(where, "event_id", f"no outreach event with id {event_id}"))
    if market:
        try:
            m = cache.market(market)
        except NotFound as exc:
            errors.append(RowError(where, "market", str(exc)))
    elif not (resident_purchase and event_id is not None):
        errors.append(RowError(where, "market", "missing (a market, or an event for a "
                                                "resident's purchase)"))
    if vendor_stall and resident_purchase:
        errors.append(RowError(where, "vendor_stall", "a resident's purchase has no stall"))
    elif vendor_stall and m is not None:
        try:
            v = cache.vendor(m, vendor_stall, session)
        except NotFound as exc:
            errors.append(RowError(where, "vendor_stall", str(exc)))
    elif not vendor_stall and not resident_purchase:
        errors.append(RowError(where, "vendor_stall", "missing (the stall the produce is from, "
                                                      "or mark a resident's purchase)"))
    if errors:
        raise ValidationFailed(errors, where)
    assert c is not None
    code = new_sample_code(taken_at.date())
    while session.exec(select(Sample.id).where(Sample.code == code)).first() is not None:
        code = new_sample_code(taken_at.date())
    s = Sample(code=code, market_id=m.id if m else None, vendor_id=v.id if v else None,
               resident_purchase=resident_purchase, commodity_id=c.id, taken_at=taken_at,
               taken_by=taken_by or actor.username, event_id=event_id)
    session.add(s)
    session.flush()
    audit.record(session=session, actor=actor, action="sample.register", entity="sample",
                 entity_id=s.id, new={"code": code, "market": m.code if m else None,
                                      "stall": v.stall if v else None, "commodity": c.name_zh,
                                      "taken_at": taken_at.isoformat()})
    return RegisteredSample(s.id, code, m.code if m else None, v.stall if v else None,
                            c.name_zh, taken_at, s.taken_by)
