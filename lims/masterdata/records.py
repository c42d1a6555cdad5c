"""Writing master data: upsert by code (created / updated / unchanged), activate or deactivate,
each change audited. Nothing here deletes: results, cases and alerts point to these rows.

``save_*`` are the one-record entry points of the app's forms (check, then upsert); the workbook
import checks every row first and then calls the same ``upsert_*``.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session, SQLModel, select

from lims.errors import InvalidInput, NotFound, RowError, ValidationFailed
from lims.masterdata import fields
from lims.models import GridGroup, Instrument, Market, Vendor, Volunteer, VolunteerTeam
from lims.security import audit
from lims.security.auth import Actor, require

PERMISSION = "masterdata.edit"
Outcome = Literal["created", "updated", "unchanged"]
ENTITIES = {"grid_group": GridGroup, "market": Market, "vendor": Vendor,
            "instrument": Instrument, "volunteer_team": VolunteerTeam, "volunteer": Volunteer}


def _apply(session: Session, actor: Actor, entity: str, key: str, obj: SQLModel | None,
           model: type[SQLModel], values: dict[str, Any]) -> tuple[Outcome, SQLModel]:
    if obj is None:
        obj = model(**values)
        session.add(obj)
        session.flush()
        audit.record(session=session, actor=actor, action=f"{entity}.create", entity=entity,
                     entity_id=key, new=values)
        return "created", obj
    changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
    if not changed:
        return "unchanged", obj
    old = {k: getattr(obj, k) for k in changed}
    for k, v in changed.items():
        setattr(obj, k, v)
    session.add(obj)
    session.flush()
    audit.record(session=session, actor=actor, action=f"{entity}.update", entity=entity,
                 entity_id=key, old=old, new=changed)
    return "updated", obj


def _market_id(session: Session, key: str | None) -> int | None:
    if not key:
        return None
    m = fields.find_market(session, key)
    if m is None:
        raise NotFound(f"market: unknown market {key!r}")
    return m.id


def upsert_grid_group(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    obj = session.exec(select(GridGroup).where(GridGroup.code == v["code"])).first()
    if obj is None:  # a group made before codes existed (demo data): adopt it by its name
        obj = session.exec(select(GridGroup).where(GridGroup.name == v["name"],
                                                   GridGroup.code.is_(None))).first()
    return _apply(session, actor, "grid_group", v["code"], obj, GridGroup, dict(v))[0]


def upsert_market(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    values = {k: x for k, x in v.items() if k != "grid_group"}
    group = fields.find_grid_group(session, v["grid_group"]) if v.get("grid_group") else None
    if v.get("grid_group") and group is None:
        raise NotFound(f"grid_group: unknown grid group {v['grid_group']!r}")
    values["grid_group_id"] = group.id if group else None
    obj = session.exec(select(Market).where(Market.code == v["code"])).first()
    return _apply(session, actor, "market", v["code"], obj, Market, values)[0]


def upsert_vendor(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    market_id = _market_id(session, v["market"])
    values = {k: x for k, x in v.items() if k != "market"} | {"market_id": market_id}
    obj = session.exec(select(Vendor).where(Vendor.market_id == market_id,
                                            Vendor.stall == v["stall"])).first()
    return _apply(session, actor, "vendor", f"{v['market']}/{v['stall']}", obj, Vendor, values)[0]


def upsert_instrument(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    values = {k: x for k, x in v.items() if k != "market"}
    values["market_id"] = _market_id(session, v.get("market"))
    obj = session.exec(select(Instrument).where(Instrument.serial_no == v["serial_no"])).first()
    return _apply(session, actor, "instrument", v["serial_no"], obj, Instrument, values)[0]


def upsert_team(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    obj = session.exec(select(VolunteerTeam).where(VolunteerTeam.name == v["name"])).first()
    return _apply(session, actor, "volunteer_team", v["name"], obj, VolunteerTeam, dict(v))[0]


def upsert_volunteer(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    team = session.exec(select(VolunteerTeam).where(VolunteerTeam.name == v["team"])).first()
    if team is None:
        raise NotFound(f"team: unknown team {v['team']!r}")
    values = {k: x for k, x in v.items() if k != "team"} | {"team_id": team.id}
    obj = session.exec(select(Volunteer).where(Volunteer.team_id == team.id,
                                               Volunteer.name == v["name"])).first()
    return _apply(session, actor, "volunteer", f"{v['team']}/{v['name']}", obj, Volunteer,
                  values)[0]


def _checked(check, session: Session, row: dict[str, Any], **kw) -> dict[str, Any]:
    errors: fields.Errors = []
    values = check(session, {k: fields.text(x) for k, x in row.items()}, errors, **kw)
    if values is None:
        raise ValidationFailed([RowError("form", col, msg) for col, msg in errors], "form")
    return values


def save_market(*, session: Session, actor: Actor, **row: Any) -> Outcome:
    """Create or edit one market (the form's fields: code, name, county, township, kind,
    grid_group, active); bad fields → ``ValidationFailed`` naming each, nothing written."""
    require(actor, PERMISSION)
    return upsert_market(session, actor, _checked(fields.check_market, session, row))


def save_vendor(*, session: Session, actor: Actor, **row: Any) -> Outcome:
    """Create or edit one vendor/stall (market, stall, name, licence_no, phone, active)."""
    require(actor, PERMISSION)
    return upsert_vendor(session, actor, _checked(fields.check_vendor, session, row))


def set_active(*, session: Session, actor: Actor, entity: str, id: int, active: bool,
               reason: str = "") -> None:
    """Deactivate (close) or reactivate a record; never deletes it. Audited with the reason."""
    require(actor, PERMISSION)
    model = ENTITIES.get(entity)
    if model is None or not hasattr(model, "active"):
        raise InvalidInput(f"entity: {entity!r} cannot be activated or deactivated")
    obj = session.get(model, id)
    if obj is None:
        raise NotFound(f"{entity} {id}: not found")
    if obj.active == active:
        return
    obj.active = active
    session.add(obj)
    session.flush()
    audit.record(session=session, actor=actor,
                 action=f"{entity}.{'activate' if active else 'deactivate'}", entity=entity,
                 entity_id=id, old={"active": not active}, new={"active": active},
                 reason=reason.strip())


def list_markets(*, session: Session) -> list[Market]:
    return list(session.exec(select(Market).order_by(Market.county, Market.code)))


def list_vendors(*, session: Session, market_id: int) -> list[Vendor]:
    return list(session.exec(select(Vendor).where(Vendor.market_id == market_id)
                             .order_by(Vendor.stall)))


def list_grid_groups(*, session: Session) -> list[GridGroup]:
    return list(session.exec(select(GridGroup).order_by(GridGroup.county, GridGroup.name)))
