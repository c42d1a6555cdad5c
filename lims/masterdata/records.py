"""Writing master data: upsert by code (created / updated / unchanged), activate or deactivate,
each change audited. Nothing here deletes: results, cases and alerts point to these rows.

``save_*`` are the one-record entry points of the app's forms (check, then upsert); the workbook
import checks every row first and then calls the same ``upsert_*``.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session, SQLModel, select

from lims.errors import InvalidInput, NotFound, RowError, ValidationFailed
from lims.masterdata import fields, scope
from lims.models import (
    GridGroup,
    Instrument,
    Kit,
    KitLot,
    Market,
    Vendor,
    Volunteer,
    VolunteerTeam,
)
from lims.security import audit
from lims.security.auth import Actor, require
from lims.sync.role import refuse_on_station

PERMISSION = "masterdata.edit"
Outcome = Literal["created", "updated", "unchanged"]
ENTITIES = {"grid_group": GridGroup, "market": Market, "vendor": Vendor,
            "instrument": Instrument, "volunteer_team": VolunteerTeam, "volunteer": Volunteer,
            "kit": Kit, "kit_lot": KitLot}


def apply_values(session: Session, actor: Actor, entity: str, key: str, obj: SQLModel | None,
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
    return apply_values(session, actor, "grid_group", v["code"], obj, GridGroup, dict(v))[0]


def upsert_market(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    refuse_on_station(session, f"market {v['code']}")
    values = {k: x for k, x in v.items() if k != "grid_group"}
    group = fields.find_grid_group(session, v["grid_group"]) if v.get("grid_group") else None
    if v.get("grid_group") and group is None:
        raise NotFound(f"grid_group: unknown grid group {v['grid_group']!r}")
    values["grid_group_id"] = group.id if group else None
    obj = session.exec(select(Market).where(Market.code == v["code"])).first()
    return apply_values(session, actor, "market", v["code"], obj, Market, values)[0]


def upsert_vendor(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    refuse_on_station(session, f"vendor {v['market']}/{v['stall']}")
    market_id = _market_id(session, v["market"])
    values = {k: x for k, x in v.items() if k != "market"} | {"market_id": market_id}
    obj = session.exec(select(Vendor).where(Vendor.market_id == market_id,
                                            Vendor.stall == v["stall"])).first()
    return apply_values(session, actor, "vendor", f"{v['market']}/{v['stall']}", obj, Vendor, values)[0]


def upsert_instrument(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    refuse_on_station(session, f"instrument {v['serial_no']}")
    values = {k: x for k, x in v.items() if k != "market"}
    values["market_id"] = _market_id(session, v.get("market"))
    obj = session.exec(select(Instrument).where(Instrument.serial_no == v["serial_no"])).first()
    return apply_values(session, actor, "instrument", v["serial_no"], obj, Instrument, values)[0]


def upsert_team(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    obj = session.exec(select(VolunteerTeam).where(VolunteerTeam.name == v["name"])).first()
    return apply_values(session, actor, "volunteer_team", v["name"], obj, VolunteerTeam, dict(v))[0]


def upsert_volunteer(session: Session, actor: Actor, v: dict[str, Any]) -> Outcome:
    team = session.exec(select(VolunteerTeam).where(VolunteerTeam.name == v["team"])).first()
    if team is None:
        raise NotFound(f"team: unknown team {v['team']!r}")
    values = {k: x for k, x in v.items() if k != "team"} | {"team_id": team.id}
    obj = session.exec(select(Volunteer).where(Volunteer.team_id == team.id,
                                               Volunteer.name == v["name"])).first()
    return apply_values(session, actor, "volunteer", f"{v['team']}/{v['name']}", obj, Volunteer,
                  values)[0]


def checked(check, session: Session, row: dict[str, Any], **kw) -> dict[str, Any]:
    errors: fields.Errors = []
    values = check(session, {k: fields.text(x) for k, x in row.items()}, errors, **kw)
    if values is None:
        raise ValidationFailed([RowError("form", col, msg) for col, msg in errors], "form")
    return values


def _stored_county(session: Session, entity: str, obj: Any) -> str | None:
    """The county a stored record belongs to (for the managers' own-county rule)."""
    if obj is None:
        return None
    if entity in ("grid_group", "market", "volunteer_team"):
        return obj.county or None
    if entity in ("vendor", "instrument"):
        m = session.get(Market, obj.market_id) if obj.market_id else None
        return m.county if m else None
    if entity == "volunteer":
        team = session.get(VolunteerTeam, obj.team_id)
        return team.county or None if team else None
    return None


def _market_county(session: Session, key: str | None) -> str | None:
    m = fields.find_market(session, key) if key else None
    return m.county if m else None


def save_grid_group(*, session: Session, actor: Actor, **row: Any) -> Outcome:
    """Create or edit one grid group (code, name, county, officer, phone, active)."""
    scope.require_any(actor)
    v = checked(fields.check_grid_group, session, row)
    old = session.exec(select(GridGroup).where(GridGroup.code == v["code"])).first()
    scope.require_county(session, actor, v["county"],
                         *([old.county] if old is not None else []))
    return upsert_grid_group(session, actor, v)


def save_market(*, session: Session, actor: Actor, **row: Any) -> Outcome:
    """Create or edit one market (the form's fields: code, name, county, township, kind,
    grid_group, active); bad fields → ``ValidationFailed`` naming each, nothing written."""
    scope.require_any(actor)
    v = checked(fields.check_market, session, row)
    old = session.exec(select(Market).where(Market.code == v["code"])).first()
    scope.require_county(session, actor, v["county"],
                         *([old.county] if old is not None else []))
    return upsert_market(session, actor, v)


def save_vendor(*, session: Session, actor: Actor, **row: Any) -> Outcome:
    """Create or edit one vendor/stall (market, stall, name, licence_no, phone, active)."""
    scope.require_any(actor)
    v = checked(fields.check_vendor, session, row)
    scope.require_county(session, actor, _market_county(session, v["market"]))
    return upsert_vendor(session, actor, v)


def save_instrument(*, session: Session, actor: Actor, profile_dirs: tuple = (),
                    **row: Any) -> Outcome:
    """Create or edit one instrument (serial, model, kind, driver — a driver name or
    ``profile:NAME`` —, market (empty: the lab), calibration_interval_days, active); the driver
    is checked as ``lims.metrology.instruments.check_driver`` does."""
    scope.require_any(actor)
    v = checked(fields.check_instrument, session, row, profile_dirs=profile_dirs)
    old = session.exec(select(Instrument).where(Instrument.serial_no == v["serial_no"])).first()
    scope.require_county(session, actor, _market_county(session, v.get("market")),
                         *([_stored_county(session, "instrument", old)] if old else []))
    return upsert_instrument(session, actor, v)


def save_team(*, session: Session, actor: Actor, **row: Any) -> Outcome:
    """Create or edit one volunteer team (name, county, leader)."""
    scope.require_any(actor)
    v = checked(fields.check_team, session, row)
    old = session.exec(select(VolunteerTeam).where(VolunteerTeam.name == v["name"])).first()
    scope.require_county(session, actor, v["county"] or None,
                         *([old.county or None] if old is not None else []))
    return upsert_team(session, actor, v)


def save_volunteer(*, session: Session, actor: Actor, **row: Any) -> Outcome:
    """Create or edit one volunteer (team — the team's name —, name, phone, active)."""
    scope.require_any(actor)
    v = checked(fields.check_volunteer, session, row)
    team = session.exec(select(VolunteerTeam).where(VolunteerTeam.name == v["team"])).first()
    scope.require_county(session, actor, team.county or None if team else None)
    return upsert_volunteer(session, actor, v)


def set_active(*, session: Session, actor: Actor, entity: str, id: int, active: bool,
               reason: str = "") -> None:
    """Deactivate (close) or reactivate a record; never deletes it. Audited with the reason."""
    scope.require_any(actor)
    model = ENTITIES.get(entity)
    if model is None or not hasattr(model, "active"):
        raise InvalidInput(f"entity: {entity!r} cannot be activated or deactivated")
    obj = session.get(model, id)
    if obj is None:
        raise NotFound(f"{entity} {id}: not found")
    if entity in ("market", "vendor", "instrument"):
        refuse_on_station(session, f"{entity} {id}")
    if entity in ("kit", "kit_lot"):
        require(actor, PERMISSION)
    else:
        scope.require_county(session, actor, _stored_county(session, entity, obj))
    if obj.active == active:
        return
    obj.active = active
    session.add(obj)
    session.flush()
    audit.record(session=session, actor=actor,
                 action=f"{entity}.{'activate' if active else 'deactivate'}", entity=entity,
                 entity_id=id, old={"active": not active}, new={"active": active},
                 reason=reason.strip())


def _scoped(q, model, counties: list[str] | None):
    return q if counties is None else q.where(model.county.in_(counties))


def list_markets(*, session: Session, active_only: bool = False,
                 counties: list[str] | None = None) -> list[Market]:
    """Markets by county and code; ``active_only`` for pickers of new work; ``counties`` to
    limit to those (``scope.counties``)."""
    q = _scoped(select(Market), Market, counties)
    if active_only:
        q = q.where(Market.active)
    return list(session.exec(q.order_by(Market.county, Market.code)))


def list_vendors(*, session: Session, market_id: int, active_only: bool = False) -> list[Vendor]:
    q = select(Vendor).where(Vendor.market_id == market_id)
    if active_only:
        q = q.where(Vendor.active)
    return list(session.exec(q.order_by(Vendor.stall)))


def list_grid_groups(*, session: Session, active_only: bool = False,
                     counties: list[str] | None = None) -> list[GridGroup]:
    q = _scoped(select(GridGroup), GridGroup, counties)
    if active_only:
        q = q.where(GridGroup.active)
    return list(session.exec(q.order_by(GridGroup.county, GridGroup.name)))


def list_instruments(*, session: Session, active_only: bool = False,
                     counties: list[str] | None = None) -> list[Instrument]:
    """Instruments by serial; with ``counties``, those of the counties' markets only."""
    q = select(Instrument)
    if counties is not None:
        q = q.join(Market, Market.id == Instrument.market_id).where(Market.county.in_(counties))
    if active_only:
        q = q.where(Instrument.active)
    return list(session.exec(q.order_by(Instrument.serial_no)))


def list_teams(*, session: Session, active_only: bool = False,
               counties: list[str] | None = None) -> list[VolunteerTeam]:
    q = _scoped(select(VolunteerTeam), VolunteerTeam, counties)
    if active_only:
        q = q.where(VolunteerTeam.active)
    return list(session.exec(q.order_by(VolunteerTeam.name)))


def list_volunteers(*, session: Session, team_id: int, active_only: bool = False
                    ) -> list[Volunteer]:
    q = select(Volunteer).where(Volunteer.team_id == team_id)
    if active_only:
        q = q.where(Volunteer.active)
    return list(session.exec(q.order_by(Volunteer.name)))
