"""`lims places market|vendor|grid-group add/edit/deactivate/activate/list` and
`lims kits add/list/deactivate`: master data one record at a time (issues 13, 14).

The same services as the app's set-up forms (``lims.masterdata``): checked field by field
(a bad field → exit code 1, each named; nothing written), audited, never deleted.
"""

from __future__ import annotations

from typing import Any

import typer
from sqlmodel import Session, select

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.errors import Conflict, NotFound, ValidationFailed
from lims.masterdata import fields, kits, records
from lims.models import GridGroup, Kit, KitLot, Vendor

places_app = typer.Typer(help="Markets, vendors/stalls and grid groups: add, edit, deactivate.",
                         no_args_is_help=True)
market_app = typer.Typer(help="Markets.", no_args_is_help=True)
vendor_app = typer.Typer(help="Vendors (stalls) of a market.", no_args_is_help=True)
group_app = typer.Typer(help="Grid groups (网格) with officer and phone.", no_args_is_help=True)
places_app.add_typer(market_app, name="market")
places_app.add_typer(vendor_app, name="vendor")
places_app.add_typer(group_app, name="grid-group")
kits_app = typer.Typer(help="Test kits and their lots (expiry dates).", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print the outcome as JSON.")
REASON = typer.Option("", "--reason", help="Why (kept in the audit trail).")


def _save(fn, what: str, key: str, as_json: bool, **row: Any) -> None:
    actor = current_actor()
    try:
        with session() as s:
            outcome = fn(session=s, actor=actor, **row)
    except ValidationFailed as exc:
        if as_json:
            emit_json({"ok": False, "written": 0, "errors": [
                {"field": e.field, "message": e.message} for e in exc.errors]})
        typer.secho(f"error: {what} {key}: {len(exc.errors)} bad field(s), nothing written",
                    fg=typer.colors.RED, err=True)
        for e in exc.errors:
            typer.echo(f"  {e.field}: {e.message}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        emit_json({"ok": True, "entity": what, "key": key, "outcome": outcome})
    else:
        typer.echo(f"{what} {key}: {outcome}")


def _given(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def _set_active(what: str, key: str, find, active: bool, reason: str, as_json: bool) -> None:
    actor = current_actor()
    with session() as s:
        obj = find(s)
        records.set_active(session=s, actor=actor, entity=what, id=obj.id, active=active,
                           reason=reason)
    if as_json:
        emit_json({"ok": True, "entity": what, "key": key, "active": active})
    else:
        typer.echo(f"{what} {key}: {'activated' if active else 'deactivated'}")


# -- markets -----------------------------------------------------------------------------------

def _market(s: Session, code: str):
    m = fields.find_market(s, code)
    if m is None:
        raise NotFound(f"market: unknown market {code!r}")
    return m


def _market_row(s: Session, code: str) -> dict[str, Any]:
    m = _market(s, code)
    g = s.get(GridGroup, m.grid_group_id) if m.grid_group_id else None
    return {"code": m.code, "name": m.name, "county": m.county, "township": m.township,
            "kind": m.kind, "grid_group": (g.code or g.name) if g else ""}


@market_app.command("add")
@handle_errors
def market_add(code: str = typer.Option(..., "--code"), name: str = typer.Option(..., "--name"),
               county: str = typer.Option(..., "--county"),
               kind: str = typer.Option(..., "--kind", help="农贸市场/farmers, 批发市场/"
                                        "wholesale, 超市/supermarket, 食堂/canteen, 夜市/"
                                        "night_market"),
               township: str = typer.Option("", "--township"),
               grid_group: str = typer.Option("", "--grid-group", help="grid group code"),
               as_json: bool = JSON) -> None:
    """Add a market (refused if the code exists: use edit)."""
    with session() as s:
        if fields.find_market(s, code) is not None:
            raise Conflict(f"code: market {code!r} exists (lims places market edit)")
    _save(records.save_market, "market", code, as_json, code=code, name=name, county=county,
          township=township, kind=kind, grid_group=grid_group)


@market_app.command("edit")
@handle_errors
def market_edit(code: str = typer.Argument(...), name: str = typer.Option(None, "--name"),
                county: str = typer.Option(None, "--county"),
                township: str = typer.Option(None, "--township"),
                kind: str = typer.Option(None, "--kind"),
                grid_group: str = typer.Option(None, "--grid-group"),
                as_json: bool = JSON) -> None:
    """Change a market's fields (the ones given; the code stays)."""
    with session() as s:
        row = _market_row(s, code)
    row.update(_given(name=name, county=county, township=township, kind=kind,
                      grid_group=grid_group))
    _save(records.save_market, "market", row["code"], as_json, **row)


@market_app.command("deactivate")
@handle_errors
def market_deactivate(code: str, reason: str = REASON, as_json: bool = JSON) -> None:
    """Close a market: kept (results point to it), no longer offered for new work."""
    _set_active("market", code, lambda s: _market(s, code), False, reason, as_json)


@market_app.command("activate")
@handle_errors
def market_activate(code: str, reason: str = REASON, as_json: bool = JSON) -> None:
    """Reopen a closed market."""
    _set_active("market", code, lambda s: _market(s, code), True, reason, as_json)


@market_app.command("list")
@handle_errors
def market_list(active_only: bool = typer.Option(False, "--active"),
                as_json: bool = JSON) -> None:
    """Markets with their county, kind and active flag."""
    with session() as s:
        rows = [{"code": m.code, "name": m.name, "county": m.county, "township": m.township,
                 "kind": m.kind, "active": m.active}
                for m in records.list_markets(session=s, active_only=active_only)]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        closed = "" if r["active"] else "\t(closed)"
        typer.echo(f"{r['code']}\t{r['name']}\t{r['county']}\t{r['kind']}{closed}")


# -- vendors -----------------------------------------------------------------------------------

def _vendor(s: Session, market: str, stall: str) -> Vendor:
    m = _market(s, market)
    v = s.exec(select(Vendor).where(Vendor.market_id == m.id, Vendor.stall == stall)).first()
    if v is None:
        raise NotFound(f"stall: market {market!r} has no stall {stall!r}")
    return v


MARKET = typer.Option(..., "--market", help="market code")
STALL = typer.Option(..., "--stall", help="stall number")


@vendor_app.command("add")
@handle_errors
def vendor_add(market: str = MARKET, stall: str = STALL, name: str = typer.Option("", "--name"),
               licence_no: str = typer.Option("", "--licence-no"),
               phone: str = typer.Option("", "--phone"), as_json: bool = JSON) -> None:
    """Add a vendor's stall to a market (refused if the stall exists: use edit)."""
    with session() as s:
        m = fields.find_market(s, market)
        if m is not None and s.exec(select(Vendor).where(
                Vendor.market_id == m.id, Vendor.stall == stall)).first() is not None:
            raise Conflict(f"stall: {market}/{stall} exists (lims places vendor edit)")
    _save(records.save_vendor, "vendor", f"{market}/{stall}", as_json, market=market,
          stall=stall, name=name, licence_no=licence_no, phone=phone)


@vendor_app.command("edit")
@handle_errors
def vendor_edit(market: str = MARKET, stall: str = STALL,
                name: str = typer.Option(None, "--name"),
                licence_no: str = typer.Option(None, "--licence-no"),
                phone: str = typer.Option(None, "--phone"), as_json: bool = JSON) -> None:
    """Change a stall's name, licence number or phone."""
    with session() as s:
        v = _vendor(s, market, stall)
        row = {"market": market, "stall": stall, "name": v.name, "licence_no": v.licence_no,
               "phone": v.phone}
    row.update(_given(name=name, licence_no=licence_no, phone=phone))
    _save(records.save_vendor, "vendor", f"{market}/{stall}", as_json, **row)


@vendor_app.command("deactivate")
@handle_errors
def vendor_deactivate(market: str = MARKET, stall: str = STALL, reason: str = REASON,
                      as_json: bool = JSON) -> None:
    """Close a stall: kept (results point to it), no longer offered for new samples."""
    _set_active("vendor", f"{market}/{stall}", lambda s: _vendor(s, market, stall), False,
                reason, as_json)


@vendor_app.command("activate")
@handle_errors
def vendor_activate(market: str = MARKET, stall: str = STALL, reason: str = REASON,
                    as_json: bool = JSON) -> None:
    """Reopen a closed stall."""
    _set_active("vendor", f"{market}/{stall}", lambda s: _vendor(s, market, stall), True,
                reason, as_json)


# -- grid groups -------------------------------------------------------------------------------

def _group(s: Session, code: str) -> GridGroup:
    g = fields.find_grid_group(s, code)
    if g is None:
        raise NotFound(f"grid group: unknown grid group {code!r}")
    return g


@group_app.command("add")
@handle_errors
def group_add(code: str = typer.Option(..., "--code"), name: str = typer.Option(..., "--name"),
              county: str = typer.Option(..., "--county"),
              officer: str = typer.Option("", "--officer"),
              phone: str = typer.Option("", "--phone"), as_json: bool = JSON) -> None:
    """Add a grid group (refused if the code exists: use edit)."""
    with session() as s:
        if s.exec(select(GridGroup).where(GridGroup.code == code)).first() is not None:
            raise Conflict(f"code: grid group {code!r} exists (lims places grid-group edit)")
    _save(records.save_grid_group, "grid_group", code, as_json, code=code, name=name,
          county=county, officer=officer, phone=phone)


@group_app.command("edit")
@handle_errors
def group_edit(code: str = typer.Argument(...), name: str = typer.Option(None, "--name"),
               county: str = typer.Option(None, "--county"),
               officer: str = typer.Option(None, "--officer"),
               phone: str = typer.Option(None, "--phone"), as_json: bool = JSON) -> None:
    """Change a grid group's name, county, officer or phone."""
    with session() as s:
        g = _group(s, code)
        row = {"code": g.code or code, "name": g.name, "county": g.county, "officer": g.officer,
               "phone": g.phone}
    row.update(_given(name=name, county=county, officer=officer, phone=phone))
    _save(records.save_grid_group, "grid_group", row["code"], as_json, **row)


@group_app.command("deactivate")
@handle_errors
def group_deactivate(code: str, reason: str = REASON, as_json: bool = JSON) -> None:
    """Retire a grid group: kept, no longer offered for new markets."""
    _set_active("grid_group", code, lambda s: _group(s, code), False, reason, as_json)


@group_app.command("activate")
@handle_errors
def group_activate(code: str, reason: str = REASON, as_json: bool = JSON) -> None:
    """Bring a retired grid group back."""
    _set_active("grid_group", code, lambda s: _group(s, code), True, reason, as_json)


# -- kits --------------------------------------------------------------------------------------

@kits_app.command("add")
@handle_errors
def kit_add(kit: str = typer.Option(..., "--kit", help="the kit's code (new or existing)"),
            method: str = typer.Option(..., "--method", help="method code, e.g. ENZ-CARD"),
            lot: str = typer.Option(..., "--lot", help="lot number (批号)"),
            expires: str = typer.Option(..., "--expires", help="expiry date YYYY-MM-DD"),
            maker: str = typer.Option("", "--maker"), name: str = typer.Option("", "--name"),
            as_json: bool = JSON) -> None:
    """Add a kit lot (and its kit on first use); a lot again with other values updates it."""
    _save(kits.save_kit_lot, "kit_lot", f"{kit}/{lot}", as_json, kit=kit, method=method,
          lot=lot, expires_on=expires, maker=maker, name=name)


@kits_app.command("list")
@handle_errors
def kit_list(active_only: bool = typer.Option(False, "--active", help="only lots in use"),
             as_json: bool = JSON) -> None:
    """Kit lots with method, maker and expiry date (expired ones marked)."""
    from lims.timeutil import now

    at = now()
    with session() as s:
        lots = kits.list_lots(session=s, active_only=active_only)
    rows = [{"kit": x.kit, "name": x.kit_name, "method": x.method, "maker": x.maker,
             "lot": x.lot, "expires_on": x.expires_on, "expired": x.expired_at(at),
             "active": x.active and x.kit_active} for x in lots]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        flags = " expired" * r["expired"] + " inactive" * (not r["active"])
        typer.echo(f"{r['kit']}/{r['lot']}\t{r['method']}\t{r['maker']}\t"
                   f"{r['expires_on'].isoformat()}{flags}")


@kits_app.command("deactivate")
@handle_errors
def kit_deactivate(kit: str = typer.Option(..., "--kit"), lot: str = typer.Option(..., "--lot"),
                   reason: str = REASON, as_json: bool = JSON) -> None:
    """Retire a lot (used up): kept, since results point to it; not offered any more."""
    def find(s: Session) -> KitLot:
        found = s.exec(select(KitLot).join(Kit, Kit.id == KitLot.kit_id)
                       .where(Kit.code == kit, KitLot.lot == lot)).first()
        if found is None:
            raise NotFound(f"kit lot: unknown lot {kit}/{lot}")
        return found

    _set_active("kit_lot", f"{kit}/{lot}", find, False, reason, as_json)

