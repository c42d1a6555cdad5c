"""Outreach metering: residents' household scales and blood-pressure meters checked at an event.

Each check is one MeterCheck (kind, make, model, readings, computed outcome); nothing about the
resident is stored beyond their consent to the record. Household instruments are judged with
in-service MPEs; their accuracy class defaults come from the weighing reference data (body
scales class IIII, kitchen scales class III: both unconfirmed, editable there).

Readings:
* body_scale / kitchen_scale: ``{"instrument": {"max", "e"[, "class"]}, "weighing": [{"load",
  "indication"}, …]}`` (a quick check at a few loads, not a full verification);
* bp_meter: ``{"unit": "mmHg", "kind": "automated", "points": [{"reference", "indicated"}, …]}``
  — ``kind`` automated (JJG 692-2010), mercury or aneroid (JJG 270-2008; mercury also needs the
  ``zero`` reading): each kind is judged with its own regulation's in-service limit, converted
  exactly to the unit of the readings.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from calibration import bp as cal_bp
from calibration import weighing as cal_weighing
from calibration.refdata import load_weighing
from calibration.report import Report
from lims.errors import NotFound, RowError, ValidationFailed
from lims.models import MeterCheck, OutreachEvent
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import now, refuse_future

KINDS = ("body_scale", "bp_meter", "kitchen_scale")


def compute(kind: str, readings: dict[str, Any]) -> Report:
    """The check's report (ValueError naming the field on bad readings)."""
    if kind == "bp_meter":
        return cal_bp.verify_bp(readings.get("points") or [], unit=readings.get("unit", "mmHg"),
                                in_service=True, kind=readings.get("kind", "automated"),
                                zero=readings.get("zero"))
    ref = load_weighing()
    default = (ref.household_body_scale_class if kind == "body_scale"
               else ref.household_kitchen_scale_class)
    spec_in = {"class": default, **(readings.get("instrument") or {}), "in_service": True}
    spec = cal_weighing.parse_spec(spec_in, ref)
    rows = cal_weighing.parse_readings({"weighing": readings.get("weighing") or []})["weighing"]
    rep = cal_weighing.check_points(spec, rows, ref)
    confirmed = (ref.household_body_scale_confirmed if kind == "body_scale"
                 else ref.household_kitchen_scale_confirmed)
    rep.reference["class_default"] = {"class": default, "confirmed": confirmed}
    return rep


def record_check(*, session: Session, actor: Actor, event_id: int, kind: str,
                 readings: dict[str, Any], make: str = "", model: str = "",
                 consent: bool = True, checked_at: datetime | None = None,
                 checked_by: str | None = None) -> MeterCheck:
    """Check one resident's instrument at an outreach event and store the outcome."""
    require(actor, "metering.record")
    errors = []
    if session.get(OutreachEvent, event_id) is None:
        raise NotFound(f"no outreach event with id {event_id}")
    if kind not in KINDS:
        errors.append(RowError("check", "kind", f"{kind!r} is not one of {', '.join(KINDS)}"))
    at = checked_at or now()
    if at.tzinfo is not None:
        refuse_future(at, "checked_at", "meter check")
    if at.tzinfo is None:
        errors.append(RowError("check", "checked_at", "timestamp without time zone"))
    if errors:
        raise ValidationFailed(errors, "meter check")
    try:
        rep = compute(kind, readings)
    except ValueError as exc:
        raise ValidationFailed([RowError("check", "readings", str(exc))], "meter check") from None
    mc = MeterCheck(event_id=event_id, kind=kind, make=make, model=model, readings=readings,
                    outcome=rep.outcome, report=rep.to_dict(), consent=consent, checked_at=at,
                    checked_by=checked_by or actor.username)
    session.add(mc)
    session.flush()
    audit.record(session=session, actor=actor, action="metering.check", entity="meter_check",
                 entity_id=mc.id, new={"event_id": event_id, "kind": kind, "outcome": mc.outcome})
    return mc


def counts_per_event(*, session: Session, event_id: int | None = None) -> list[dict[str, Any]]:
    """Per event: instruments checked, by kind and outcome."""
    q = select(MeterCheck)
    if event_id is not None:
        q = q.where(MeterCheck.event_id == event_id)
    per: dict[int, Counter] = {}
    for mc in session.exec(q):
        c = per.setdefault(mc.event_id, Counter())
        c["checked"] += 1
        c[mc.outcome] += 1
        c[f"{mc.kind}"] += 1
        c[f"{mc.kind}_{mc.outcome}"] += 1
    names = {e.id: e.name for e in session.exec(
        select(OutreachEvent).where(OutreachEvent.id.in_(list(per))))} if per else {}
    out = []
    for eid in sorted(per):
        c = per[eid]
        out.append({"event_id": eid, "event": names.get(eid, ""), "checked": c["checked"],
                    "passed": c["pass"], "failed": c["fail"],
                    "by_kind": {k: {"checked": c[k], "passed": c[f"{k}_pass"],
                                    "failed": c[f"{k}_fail"]} for k in KINDS if c[k]}})
    return out


def checks_of_event(*, session: Session, event_id: int) -> list[MeterCheck]:
    """The event's checks, newest first."""
    return list(session.exec(select(MeterCheck).where(MeterCheck.event_id == event_id)
                             .order_by(MeterCheck.checked_at.desc(), MeterCheck.id.desc())))
