"""Edits to reference data from the app: thresholds (MRLs with standard and edition), method and
kit parameters, instrument profiles. Each edit is validated, needs a reason, and is audited.

A threshold is never rewritten in place when a standard changes: a new edition is a new row
(``add_threshold``), and the old one can be retired (``set_threshold_active``). Correcting a typo
in a row is ``update_threshold`` (old and new values go into the audit trail).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.errors import NotFound, RowError, ValidationFailed
from lims.models import Analyte, AuditEvent, Commodity, Instrument, Method, Threshold
from lims.security import audit
from lims.security.auth import Actor, require
from lims.verdicts import UNIT_FACTORS_TO_MG_PER_KG, ParameterError
from lims.verdicts import check_params as check_kind_params
from lims.verdicts import kinds as method_kinds

THRESHOLD_FIELDS = ("value", "unit", "effective_from", "confirmed", "source")


def _reason(reason: str, where: str) -> str:
    if not reason or not reason.strip():
        raise ValidationFailed([RowError(where, "reason", "a reason is required")], where)
    return reason.strip()


def _threshold_dict(t: Threshold) -> dict[str, Any]:
    return {"standard": t.standard, "edition": t.edition, "value": t.value, "unit": t.unit,
            "effective_from": t.effective_from, "confirmed": t.confirmed, "source": t.source,
            "active": t.active}


def list_thresholds(*, session: Session, include_retired: bool = True) -> list[dict]:
    th = Threshold.__table__.c
    a = Analyte.__table__.c
    c = Commodity.__table__.c
    q = (sa.select(th.id, th.standard, th.edition, th.value, th.unit, th.effective_from,
                   th.confirmed, th.source, th.active, th.commodity_category,
                   a.name_zh.label("analyte_zh"), a.name_en.label("analyte_en"),
                   c.name_zh.label("commodity_zh"), c.name_en.label("commodity_en"))
         .join_from(Threshold, Analyte, th.analyte_id == a.id)
         .outerjoin(Commodity, th.commodity_id == c.id)
         .order_by(a.name_en, c.name_en, th.standard, th.edition))
    if not include_retired:
        q = q.where(th.active)
    return [dict(r._mapping) for r in session.connection().execute(q)]


def _check_threshold(value: Any, unit: str, where: str) -> list[RowError]:
    errors = []
    try:
        v = float(value)
        if not math.isfinite(v) or v <= 0:
            errors.append(RowError(where, "value", f"must be a positive number, got {value!r}"))
    except (TypeError, ValueError):
        errors.append(RowError(where, "value", f"not a number: {value!r}"))
    if unit not in UNIT_FACTORS_TO_MG_PER_KG:
        errors.append(RowError(where, "unit", f"unknown unit {unit!r}; known: "
                               f"{', '.join(UNIT_FACTORS_TO_MG_PER_KG)}"))
    return errors


def update_threshold(*, session: Session, actor: Actor, threshold_id: int, reason: str,
                     **changes: Any) -> Threshold:
    """Correct fields of one threshold row (value, unit, effective_from, confirmed, source)."""
    require(actor, "reference.edit")
    where = f"threshold {threshold_id}"
    reason = _reason(reason, where)
    t = session.get(Threshold, threshold_id)
    if t is None:
        raise NotFound(f"unknown threshold id {threshold_id}")
    unknown = set(changes) - set(THRESHOLD_FIELDS)
    if unknown:
        raise ValidationFailed([RowError(where, f, "not an editable field") for f in sorted(unknown)],
                               where)
    old = _threshold_dict(t)
    merged = old | changes
    errors = _check_threshold(merged["value"], merged["unit"], where)
    if merged["effective_from"] is not None and not isinstance(merged["effective_from"], date):
        errors.append(RowError(where, "effective_from", "must be a date"))
    if errors:
        raise ValidationFailed(errors, where)
    changed = {k: v for k, v in changes.items() if old[k] != v}
    if not changed:
        return t
    for k, v in changed.items():
        setattr(t, k, float(v) if k == "value" else v)
    session.add(t)
    audit.record(session=session, actor=actor, action="threshold.update", entity="threshold",
                 entity_id=t.id, old={k: old[k] for k in changed}, new=changed, reason=reason)
    session.flush()
    return t


def add_threshold(*, session: Session, actor: Actor, analyte: str, standard: str, edition: str,
                  value: float, unit: str = "mg/kg", commodity: str | None = None,
                  commodity_category: str | None = None, effective_from: date | None = None,
                  confirmed: bool = True, source: str, reason: str) -> Threshold:
    """A new limit row (a new edition of a standard, or a new analyte × commodity pair)."""
    require(actor, "reference.edit")
    where = f"new threshold {analyte}/{commodity or commodity_category}"
    reason = _reason(reason, where)
    errors = _check_threshold(value, unit, where)
    a = session.exec(select(Analyte).where(sa.or_(Analyte.name_zh == analyte,
                                                  Analyte.name_en == analyte))).first()
    if a is None:
        errors.append(RowError(where, "analyte", f"unknown analyte {analyte!r}"))
    c = None
    if commodity:
        c = session.exec(select(Commodity).where(sa.or_(Commodity.name_zh == commodity,
                                                        Commodity.name_en == commodity))).first()
        if c is None:
            errors.append(RowError(where, "commodity", f"unknown commodity {commodity!r}"))
    elif not commodity_category:
        errors.append(RowError(where, "commodity", "give a commodity or a commodity category"))
    for f, v in (("standard", standard), ("edition", edition), ("source", source)):
        if not v or not str(v).strip():
            errors.append(RowError(where, f, "required"))
    if not errors:
        dup = session.exec(select(Threshold).where(
            Threshold.analyte_id == a.id, Threshold.commodity_id == (c.id if c else None),
            Threshold.commodity_category == (None if c else commodity_category),
            Threshold.standard == standard.strip(), Threshold.edition == edition.strip())).first()
        if dup is not None:
            errors.append(RowError(where, "edition", f"{standard}-{edition} already exists "
                                   f"(threshold {dup.id}); edit that row instead"))
    if errors:
        raise ValidationFailed(errors, where)
    t = Threshold(analyte_id=a.id, commodity_id=c.id if c else None,
                  commodity_category=None if c else commodity_category,
                  standard=standard.strip(), edition=edition.strip(), value=float(value), unit=unit,
                  effective_from=effective_from, confirmed=confirmed, source=source.strip())
    session.add(t)
    session.flush()
    audit.record(session=session, actor=actor, action="threshold.add", entity="threshold",
                 entity_id=t.id, new=_threshold_dict(t), reason=reason)
    return t


def set_threshold_active(*, session: Session, actor: Actor, threshold_id: int, active: bool,
                         reason: str) -> Threshold:
    require(actor, "reference.edit")
    reason = _reason(reason, f"threshold {threshold_id}")
    t = session.get(Threshold, threshold_id)
    if t is None:
        raise NotFound(f"unknown threshold id {threshold_id}")
    if t.active != active:
        audit.record(session=session, actor=actor, action="threshold.retire" if not active
                     else "threshold.restore", entity="threshold", entity_id=t.id,
                     old={"active": t.active}, new={"active": active}, reason=reason)
        t.active = active
        session.add(t)
        session.flush()
    return t


# --------------------------------------------------------------------------- methods / kits

def list_methods(*, session: Session) -> list[dict]:
    return [m.model_dump() for m in session.exec(select(Method).order_by(Method.code))]


def validate_method_params(kind: str, params: dict[str, Any], code: str = "method") -> list[RowError]:
    """Problems with a method's parameters, checked by its kind's module in the verdict engine
    (``check_params`` of the kind registered in lims/refdata/method_kinds.toml)."""
    errors: list[RowError] = []

    def bad(field: str, msg: str) -> None:
        errors.append(RowError(code, f"params.{field}", msg))

    if kind not in method_kinds():
        return [RowError(code, "kind", f"unknown method kind {kind!r}; known kinds: "
                                        f"{', '.join(method_kinds())}")]
    try:
        for name, problem in check_kind_params(kind, params, code):
            bad(name, problem)
    except ParameterError as exc:
        bad("*", str(exc))
    except (TypeError, ValueError) as exc:
        bad("*", f"bad value: {exc}")
    return errors


def update_method_params(*, session: Session, actor: Actor, code: str, params: dict[str, Any],
                         reason: str) -> Method:
    """Replace a method's (kit's) parameters after validating them with the verdict engine."""
    require(actor, "reference.edit")
    reason = _reason(reason, f"method {code}")
    m = session.exec(select(Method).where(Method.code == code)).first()
    if m is None:
        raise NotFound(f"unknown method {code!r}")
    if not isinstance(params, dict):
        raise ValidationFailed([RowError(code, "params", "must be a table of values")], code)
    errors = validate_method_params(m.kind, params, code)
    if errors:
        raise ValidationFailed(errors, f"method {code}")
    if params != m.params:
        audit.record(session=session, actor=actor, action="method.params", entity="method",
                     entity_id=m.code, old={"params": m.params}, new={"params": params},
                     reason=reason)
        m.params = dict(params)
        session.add(m)
        session.flush()
    return m


# --------------------------------------------------------------------------- instruments

INSTRUMENT_FIELDS = ("location", "profile", "port_settings", "calibration_interval_days",
                     "active", "method_id")


def list_instruments(*, session: Session) -> list[dict]:
    return [i.model_dump() for i in session.exec(select(Instrument).order_by(Instrument.serial_no))]


def update_instrument(*, session: Session, actor: Actor, serial_no: str, reason: str,
                      **changes: Any) -> Instrument:
    """Edit an instrument's profile, port settings, location, interval or default method."""
    require(actor, "reference.edit")
    where = f"instrument {serial_no}"
    reason = _reason(reason, where)
    inst = session.exec(select(Instrument).where(Instrument.serial_no == serial_no)).first()
    if inst is None:
        raise NotFound(f"unknown instrument serial number {serial_no!r}")
    errors = [RowError(where, f, "not an editable field") for f in sorted(set(changes) -
                                                                         set(INSTRUMENT_FIELDS))]
    days = changes.get("calibration_interval_days", inst.calibration_interval_days)
    if not isinstance(days, int) or not 1 <= days <= 3650:
        errors.append(RowError(where, "calibration_interval_days", "must be 1 … 3650 days"))
    if not isinstance(changes.get("port_settings", {}), dict):
        errors.append(RowError(where, "port_settings", "must be a table of settings"))
    if "method_id" in changes and changes["method_id"] is not None and \
            session.get(Method, changes["method_id"]) is None:
        errors.append(RowError(where, "method_id", f"unknown method id {changes['method_id']}"))
    if errors:
        raise ValidationFailed(errors, where)
    old = {k: getattr(inst, k) for k in changes}
    changed = {k: v for k, v in changes.items() if old[k] != v}
    if changed:
        audit.record(session=session, actor=actor, action="instrument.update", entity="instrument",
                     entity_id=inst.serial_no, old={k: old[k] for k in changed}, new=changed,
                     reason=reason)
        for k, v in changed.items():
            setattr(inst, k, v)
        session.add(inst)
        session.flush()
    return inst


def history(*, session: Session, entity: str, entity_id: str | int | None = None,
            limit: int = 200) -> list[dict]:
    """Audit events for one kind of reference data (or one row), newest first."""
    q = select(AuditEvent).where(AuditEvent.entity == entity)
    if entity_id is not None:
        q = q.where(AuditEvent.entity_id == str(entity_id))
    return [e.model_dump() for e in session.exec(q.order_by(AuditEvent.id.desc()).limit(limit))]
