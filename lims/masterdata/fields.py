"""Checking one row of master data (a workbook line or a form) before anything is written.

Each ``check_*`` takes the row's cells (column → text) and returns the values to store, or None
after adding ``(column, message)`` pairs to ``errors``. References (a market's grid group, a
vendor's market …) may name rows of the same workbook (``Known``) or rows already stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from lims.errors import InvalidInput
from lims.models import GridGroup, Market, VolunteerTeam
from lims.models.enums import InstrumentKind, MarketKind

Errors = list[tuple[str, str]]

#: market kind words (Chinese or English) → MarketKind
MARKET_KINDS: dict[str, str] = {
    "农贸市场": "farmers", "集贸市场": "farmers", "批发市场": "wholesale", "超市": "supermarket",
    "食堂": "canteen", "夜市": "night_market", **{k.value: k.value for k in MarketKind},
}
INSTRUMENT_KINDS = {k.value for k in InstrumentKind}
TRUE = {"true", "yes", "y", "1", "是", "启用", "active"}
FALSE = {"false", "no", "n", "0", "否", "停用", "inactive", "closed"}


@dataclass
class Known:
    """Keys named by the workbook being imported (valid or not: a bad row is reported once)."""

    grid_groups: set[str] = field(default_factory=set)
    markets: set[str] = field(default_factory=set)
    teams: set[str] = field(default_factory=set)


def text(value: Any) -> str:
    """A cell as text: numbers a spreadsheet made of phone numbers or codes lose their '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    from lims.files.tabular import unescape

    return unescape(str(value).strip())


def _required(row: dict[str, str], col: str, errors: Errors, max_len: int) -> str:
    value = row.get(col, "")
    if not value:
        errors.append((col, "required"))
    elif len(value) > max_len:
        errors.append((col, f"longer than {max_len} characters"))
    return value


def _optional(row: dict[str, str], col: str, errors: Errors, max_len: int) -> str:
    value = row.get(col, "")
    if len(value) > max_len:
        errors.append((col, f"longer than {max_len} characters"))
    return value


def active_flag(row: dict[str, str], values: dict[str, Any], errors: Errors) -> None:
    """An optional ``active`` column: set only when given (a blank keeps the stored flag)."""
    word = row.get("active", "").lower()
    if not word:
        return
    if word in TRUE:
        values["active"] = True
    elif word in FALSE:
        values["active"] = False
    else:
        errors.append(("active", f"{word!r}: expected true/false (是/否)"))


def market_kind(word: str) -> str | None:
    return MARKET_KINDS.get(word.strip().lower()) or MARKET_KINDS.get(word.strip())


def find_grid_group(session: Session, key: str) -> GridGroup | None:
    return (session.exec(select(GridGroup).where(GridGroup.code == key)).first()
            or session.exec(select(GridGroup).where(GridGroup.name == key)).first())


def find_market(session: Session, key: str) -> Market | None:
    return (session.exec(select(Market).where(Market.code == key)).first()
            or session.exec(select(Market).where(Market.name == key)).first())


def check_grid_group(session: Session, row: dict[str, str], errors: Errors) -> dict | None:
    n = len(errors)
    v = {"code": _required(row, "code", errors, 40), "name": _required(row, "name", errors, 100),
         "county": _required(row, "county", errors, 100),
         "officer": _optional(row, "officer", errors, 100),
         "phone": _optional(row, "phone", errors, 40)}
    active_flag(row, v, errors)
    if v["name"] and v["code"]:
        other = session.exec(select(GridGroup).where(GridGroup.name == v["name"])).first()
        if other is not None and other.code not in (None, v["code"]):
            errors.append(("name", f"{v['name']!r} is already grid group {other.code!r}"))
    return v if len(errors) == n else None


def check_market(session: Session, row: dict[str, str], errors: Errors,
                 known: Known | None = None) -> dict | None:
    n = len(errors)
    v = {"code": _required(row, "code", errors, 40), "name": _required(row, "name", errors, 200),
         "county": _required(row, "county", errors, 100),
         "township": _optional(row, "township", errors, 100)}
    word = row.get("kind", "")
    if not word:
        errors.append(("kind", "required"))
    elif (kind := market_kind(word)) is None:
        errors.append(("kind", f"{word!r}: expected 农贸市场/farmers, 批发市场/wholesale, "
                               "超市/supermarket, 食堂/canteen or 夜市/night_market"))
    else:
        v["kind"] = kind
    group = row.get("grid_group", "")
    if group and not (known and group in known.grid_groups) \
            and find_grid_group(session, group) is None:
        errors.append(("grid_group", f"unknown grid group {group!r}"))
    v["grid_group"] = group or None
    active_flag(row, v, errors)
    return v if len(errors) == n else None


def check_vendor(session: Session, row: dict[str, str], errors: Errors,
                 known: Known | None = None) -> dict | None:
    n = len(errors)
    v = {"market": _required(row, "market", errors, 40), "stall": _required(row, "stall", errors, 40),
         "name": _optional(row, "name", errors, 200),
         "licence_no": _optional(row, "licence_no", errors, 60),
         "phone": _optional(row, "phone", errors, 40)}
    if v["market"] and not (known and v["market"] in known.markets) \
            and find_market(session, v["market"]) is None:
        errors.append(("market", f"unknown market {v['market']!r}"))
    active_flag(row, v, errors)
    return v if len(errors) == n else None


def check_instrument(session: Session, row: dict[str, str], errors: Errors,
                     known: Known | None = None,
                     profile_dirs: tuple[Path, ...] = ()) -> dict | None:
    from lims.metrology.instruments import check_driver

    n = len(errors)
    v: dict[str, Any] = {"serial_no": _required(row, "serial", errors, 60),
                         "model": _required(row, "model", errors, 100)}
    kind = row.get("kind", "")
    if not kind:
        errors.append(("kind", "required"))
    elif kind not in INSTRUMENT_KINDS:
        errors.append(("kind", f"{kind!r}: expected one of {', '.join(sorted(INSTRUMENT_KINDS))}"))
    v["kind"] = kind
    word = row.get("driver", "")
    driver, _, profile = word.partition(":")
    driver, profile = driver.strip(), profile.strip() or None
    if not word:
        errors.append(("driver", "required (a driver name or profile:NAME)"))
    else:
        try:
            check_driver(serial_no=v["serial_no"], driver=driver, profile=profile,
                         profile_dirs=profile_dirs)
        except InvalidInput as exc:
            errors.append(("driver", str(exc)))
    v["driver"], v["profile"] = driver, profile
    market = row.get("market", "")
    if market and not (known and market in known.markets) \
            and find_market(session, market) is None:
        errors.append(("market", f"unknown market {market!r} (leave empty for the lab)"))
    v["market"] = market or None
    interval = row.get("calibration_interval_days", "")
    if interval:
        if not interval.isdigit() or not 1 <= int(interval) <= 3650:
            errors.append(("calibration_interval_days", f"{interval!r}: expected 1 to 3650 days"))
        else:
            v["calibration_interval_days"] = int(interval)
    active_flag(row, v, errors)
    return v if len(errors) == n else None


def check_team(session: Session, row: dict[str, str], errors: Errors) -> dict | None:
    n = len(errors)
    v = {"name": _required(row, "name", errors, 100),
         "county": _optional(row, "county", errors, 100),
         "leader": _optional(row, "leader", errors, 100)}
    active_flag(row, v, errors)
    return v if len(errors) == n else None


def check_volunteer(session: Session, row: dict[str, str], errors: Errors,
                    known: Known | None = None) -> dict | None:
    n = len(errors)
    v = {"team": _required(row, "team", errors, 100), "name": _required(row, "name", errors, 100),
         "phone": _optional(row, "phone", errors, 40)}
    if v["team"] and not (known and v["team"] in known.teams) and session.exec(
            select(VolunteerTeam).where(VolunteerTeam.name == v["team"])).first() is None:
        errors.append(("team", f"unknown team {v['team']!r}"))
    active_flag(row, v, errors)
    return v if len(errors) == n else None
