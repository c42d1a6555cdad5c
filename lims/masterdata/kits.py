"""Test kits and their lots (issue 14): a kit is a method's reagent from one maker; a lot has a
code (批号) and an expiry date. A result records the lot it was tested with; a lot past its
expiry date on the test day holds the result for review (``lims.intake.gate``).

Upsert by kit code and (kit, lot); never deleted (results point to lots), deactivated instead;
every change audited (``kit.*``, ``kit_lot.*``). Admins only (``masterdata.edit``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from lims.errors import InvalidInput, NotFound
from lims.masterdata import fields, records
from lims.models import Kit, KitLot, Method
from lims.security.auth import Actor, require
from lims.timeutil import local_date

DATE_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


@dataclass(frozen=True)
class LotView:
    id: int
    kit: str
    kit_name: str
    method: str
    maker: str
    lot: str
    expires_on: date
    active: bool
    kit_active: bool

    def expired_at(self, at: datetime) -> bool:
        return lot_expired(self.expires_on, at)


def lot_expired(expires_on: date, at: datetime) -> bool:
    """A lot may be used through its expiry date; the day after, it has expired."""
    return local_date(at) > expires_on


def parse_date(text: str) -> date | None:
    """``2026-05-31``, ``2026/5/31`` or a spreadsheet's ``2026-05-31 00:00:00``."""
    m = DATE_RE.match(text.strip())
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def check_kit_row(session: Session, row: dict[str, str], errors: fields.Errors) -> dict | None:
    """One kits-sheet row or form: kit (code), method, maker, name, lot, expires_on, active."""
    n = len(errors)
    v: dict[str, Any] = {}
    for col, size, required in (("kit", 40, True), ("method", 40, True), ("lot", 60, True),
                                ("maker", 200, False), ("name", 200, False)):
        value = row.get(col, "")
        if required and not value:
            errors.append((col, "required"))
        elif len(value) > size:
            errors.append((col, f"longer than {size} characters"))
        v[col] = value
    if v["method"] and session.exec(select(Method).where(Method.code == v["method"])).first() \
            is None:
        errors.append(("method", f"unknown method {v['method']!r}"))
    word = row.get("expires_on", "")
    if not word:
        errors.append(("expires_on", "required (YYYY-MM-DD)"))
    elif (day := parse_date(word)) is None:
        errors.append(("expires_on", f"{word!r}: not a date (YYYY-MM-DD)"))
    else:
        v["expires_on"] = day
    fields.active_flag(row, v, errors)
    return v if len(errors) == n else None


def upsert_kit_row(session: Session, actor: Actor, v: dict[str, Any]) -> records.Outcome:
    """The kit (by code) and its lot (by kit and lot code): created, updated or unchanged."""
    method = session.exec(select(Method).where(Method.code == v["method"])).first()
    if method is None:
        raise NotFound(f"method: unknown method {v['method']!r}")
    kit_values = {"code": v["kit"], "method_id": method.id, "maker": v["maker"]}
    if v["name"]:
        kit_values["name"] = v["name"]
    kit = session.exec(select(Kit).where(Kit.code == v["kit"])).first()
    kit_out, kit = records.apply_values(session, actor, "kit", v["kit"], kit, Kit, kit_values)
    lot_values = {"kit_id": kit.id, "lot": v["lot"], "expires_on": v["expires_on"]}
    if "active" in v:
        lot_values["active"] = v["active"]
    lot = session.exec(select(KitLot).where(KitLot.kit_id == kit.id,
                                            KitLot.lot == v["lot"])).first()
    lot_out, _ = records.apply_values(session, actor, "kit_lot", f"{v['kit']}/{v['lot']}", lot, KitLot,
                                lot_values)
    if lot_out == "created":
        return "created"
    return "updated" if "updated" in (kit_out, lot_out) or kit_out == "created" else "unchanged"


def save_kit_lot(*, session: Session, actor: Actor, **row: Any) -> records.Outcome:
    """Create or edit a kit and one of its lots (kit, method, maker, name, lot, expires_on,
    active); bad fields → ``ValidationFailed`` naming each, nothing written."""
    require(actor, records.PERMISSION)
    return upsert_kit_row(session, actor, records.checked(check_kit_row, session, row))


def list_lots(*, session: Session, active_only: bool = False,
              kit: str | None = None) -> list[LotView]:
    """Lots with their kit, by kit code and expiry; ``active_only`` (lot and kit active) for
    pickers of new work."""
    q = (select(KitLot, Kit, Method).join(Kit, Kit.id == KitLot.kit_id)
         .join(Method, Method.id == Kit.method_id))
    if kit:
        q = q.where(Kit.code == kit)
    if active_only:
        q = q.where(KitLot.active, Kit.active)
    return [LotView(lot.id, k.code, k.name, m.code, k.maker, lot.lot, lot.expires_on,
                    lot.active, k.active)
            for lot, k, m in session.exec(q.order_by(Kit.code, KitLot.expires_on, KitLot.lot))]


def find_lot(session: Session, code: str, method: str | None = None) -> KitLot:
    """The lot a reading names: ``LOT`` or ``KIT/LOT``. Lot codes of different kits may
    coincide; then the one whose kit is for the reading's method. ``InvalidInput`` otherwise."""
    code = code.strip()
    kit_code, _, lot_code = code.rpartition("/")
    q = select(KitLot, Kit, Method).join(Kit, Kit.id == KitLot.kit_id) \
        .join(Method, Method.id == Kit.method_id).where(KitLot.lot == lot_code)
    if kit_code:
        q = q.where(Kit.code == kit_code)
    found = list(session.exec(q))
    if len(found) > 1 and method:
        found = [f for f in found if f[2].code == method] or found
    if not found:
        raise InvalidInput(f"kit_lot: unknown kit lot {code!r} (lims kits list)")
    if len(found) > 1:
        raise InvalidInput(f"kit_lot: lot {code!r} belongs to kits "
                           f"{', '.join(sorted(f[1].code for f in found))}; write KIT/LOT")
    return found[0][0]
