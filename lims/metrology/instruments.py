"""Registering an instrument for the listener: serial number, driver, profile, market, method.

Checked before anything is written: the driver exists, a profile driver names a profile that
loads, the port settings are valid for the driver, the market and method exist. Audited
(``instrument.create``). Editing and deactivating: ``lims.masterdata.records`` (the set-up
forms, ``lims setup import``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from instruments import registry
from lims.errors import Conflict, InvalidInput, NotFound
from lims.models import Instrument, Market, Method
from lims.security import audit
from lims.security.auth import Actor, require
from lims.sync.role import refuse_on_station


def add_instrument(*, session: Session, actor: Actor, serial_no: str, model: str, kind: str,
                   driver: str, profile: str | None = None, market: str | None = None,
                   method: str | None = None, port_settings: dict[str, Any] | None = None,
                   location: str = "", profile_dirs: tuple[Path, ...] = ()) -> Instrument:
    require(actor, "reference.edit")
    refuse_on_station(session, f"instrument {serial_no}")
    serial_no = serial_no.strip()
    if not serial_no:
        raise InvalidInput("serial number: empty")
    if session.exec(select(Instrument).where(Instrument.serial_no == serial_no)).first():
        raise Conflict(f"serial number: instrument {serial_no!r} already exists")
    check_driver(serial_no=serial_no, driver=driver, profile=profile,
                 port_settings=port_settings, profile_dirs=profile_dirs)
    m = None
    if market:
        m = session.exec(select(Market).where((Market.code == market) | (Market.name == market))).first()
        if m is None:
            raise NotFound(f"market: unknown market {market!r}")
    me = None
    if method:
        me = session.exec(select(Method).where(Method.code == method)).first()
        if me is None:
            raise NotFound(f"method: unknown method {method!r}")
    inst = Instrument(serial_no=serial_no, model=model, kind=kind, driver=driver, profile=profile,
                      port_settings=dict(port_settings or {}), location=location,
                      market_id=m.id if m else None, method_id=me.id if me else None)
    session.add(inst)
    session.flush()
    audit.record(session=session, actor=actor, action="instrument.create", entity="instrument",
                 entity_id=serial_no, new={"serial_no": serial_no, "model": model, "kind": kind,
                                           "driver": driver, "profile": profile,
                                           "market": m.code if m else None,
                                           "method": me.code if me else None})
    return inst


def check_driver(*, serial_no: str, driver: str, profile: str | None = None,
                 port_settings: dict[str, Any] | None = None,
                 profile_dirs: tuple[Path, ...] = ()) -> None:
    """The driver exists, a profile driver names a profile that loads, the port settings are
    valid for the driver; else ``InvalidInput`` naming what is wrong. Writes nothing."""
    try:  # the pure instruments package raises ValueError naming the driver, profile or setting
        spec = registry.get(driver)
    except ValueError as exc:
        raise InvalidInput(f"instrument {serial_no!r}: driver: {exc}") from None
    defaults = spec.defaults
    if driver == "profile":
        if not profile:
            raise InvalidInput(f"instrument {serial_no!r}: profile: the profile driver needs a "
                               "profile name")
        from instruments.profiles import load_profile

        try:
            defaults = load_profile(profile, profile_dirs).port_settings()
        except ValueError as exc:
            raise InvalidInput(f"instrument {serial_no!r}: {exc}") from None
    elif profile:
        raise InvalidInput(f"instrument {serial_no!r}: profile: driver {driver!r} takes no profile")
    try:
        defaults.with_overrides(port_settings)
    except ValueError as exc:
        raise InvalidInput(f"instrument {serial_no!r}: port settings: {exc}") from None
