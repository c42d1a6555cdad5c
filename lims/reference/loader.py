"""Load the shipped reference data (lims/refdata/) into the database, idempotently.

Rows are matched by their natural key; a missing row is inserted, an existing one is left as it is
(a technician's edit made in the app wins over the shipped file). Bad rows raise ConfigError naming
the file, the line and the field, and nothing is written.

``commodity_groups.csv`` (GB 2763 Annex A group and category of each commodity) and ``banned.csv``
(pesticides banned on vegetables) are not copied into the database: the MRL lookup reads them
directly (``lims.reference.lookup``). They are checked here: every commodity and analyte they name
must exist, and a threshold row's ``commodity_category`` must name one of their groups or
categories.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from lims.errors import ConfigError
from lims.models import Analyte, Commodity, Method, Threshold
from lims.reference.lookup import known_scopes, read_banned, read_commodity_groups
from lims.verdicts import kinds as method_kinds

REFDATA = Path(__file__).resolve().parent.parent / "refdata"


@dataclass
class LoadReport:
    inserted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.inserted.values())


def _bool(text: str, where: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "1", "yes"):
        return True
    if t in ("false", "0", "no", ""):
        return False
    raise ConfigError(f"{where}: expected true/false, got {text!r}")


COLUMNS = {
    "commodities.csv": ("name_zh", "name_en", "category", "enzyme_interference"),
    "analytes.csv": ("name_zh", "name_en", "pesticide_class", "enzyme_blind_spot"),
    "thresholds.csv": ("analyte", "commodity", "commodity_category", "standard", "edition",
                       "value", "unit", "effective_from", "confirmed", "source"),
}


def _rows(path: Path):
    """(line number, row) pairs; a missing column, or a row with too few or too many fields,
    raises ConfigError naming the file and the line."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS.get(path.name, ()) if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path.name} line 1: missing column(s) {', '.join(missing)}")
        for lineno, row in enumerate(reader, start=2):
            if None in row or any(v is None for v in row.values()):
                raise ConfigError(f"{path.name} line {lineno}: expected {len(reader.fieldnames)} "
                                  "fields separated by commas")
            yield lineno, row


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


def _check_side_files(directory: Path, commodities: dict, analytes: dict) -> dict:
    """Check commodity_groups.csv and banned.csv (when present) against the commodities and
    analytes; returns the group/category names a threshold row may use ({} without the file)."""
    groups = read_commodity_groups(directory / "commodity_groups.csv")
    known_c = {_norm(k) for k in commodities} | {_norm(c.name_en) for c in commodities.values()}
    for g in {id(g): g for g in groups.values()}.values():
        if _norm(g.name_zh) not in known_c:
            raise ConfigError(f"commodity_groups.csv: unknown commodity {g.name_zh!r} "
                              "(not in commodities.csv)")
    known_a = {_norm(k) for k in analytes}
    for b in read_banned(directory / "banned.csv").values():
        if _norm(b.analyte) not in known_a:
            raise ConfigError(f"banned.csv: unknown analyte {b.analyte!r} (not in analytes.csv)")
    return known_scopes(groups)


def load_reference_data(*, session: Session, directory: Path = REFDATA) -> LoadReport:
    report = LoadReport()

    commodities = {c.name_zh: c for c in session.exec(select(Commodity))}
    n = 0
    for lineno, row in _rows(directory / "commodities.csv"):
        where = f"commodities.csv line {lineno}"
        if row["name_zh"] in commodities:
            continue
        c = Commodity(name_zh=row["name_zh"], name_en=row["name_en"], category=row["category"],
                      enzyme_interference=_bool(row["enzyme_interference"], where))
        session.add(c)
        commodities[c.name_zh] = c
        n += 1
    report.inserted["commodity"] = n

    analytes = {a.name_zh: a for a in session.exec(select(Analyte))}
    n = 0
    for lineno, row in _rows(directory / "analytes.csv"):
        where = f"analytes.csv line {lineno}"
        if row["name_zh"] in analytes:
            continue
        a = Analyte(name_zh=row["name_zh"], name_en=row["name_en"],
                    pesticide_class=row["pesticide_class"],
                    enzyme_blind_spot=_bool(row["enzyme_blind_spot"], where))
        session.add(a)
        analytes[a.name_zh] = a
        n += 1
    report.inserted["analyte"] = n
    session.flush()
    scopes = _check_side_files(directory, commodities, analytes)

    methods = {m.code: m for m in session.exec(select(Method))}
    data = tomllib.loads((directory / "methods.toml").read_text(encoding="utf-8"))
    n = 0
    for i, m in enumerate(data.get("method", []), start=1):
        where = f"methods.toml method #{i} ({m.get('code', '?')})"
        if m["code"] in methods:
            continue
        kind = m.get("kind")
        if kind not in method_kinds():
            raise ConfigError(f"{where}: unknown kind {kind!r}; known kinds: "
                              f"{', '.join(method_kinds())}")
        analyte_id = None
        if m.get("analyte"):
            if m["analyte"] not in analytes:
                raise ConfigError(f"{where}: unknown analyte {m['analyte']!r}")
            analyte_id = analytes[m["analyte"]].id
        method = Method(code=m["code"], name_zh=m["name_zh"], name_en=m["name_en"],
                        standard=m["standard"], edition=str(m["edition"]), kind=kind,
                        is_rapid=bool(m.get("is_rapid", True)), analyte_id=analyte_id,
                        requires_release=bool(m.get("requires_release", False)),
                        params=dict(m.get("params", {})), source=m.get("source", ""))
        session.add(method)
        methods[method.code] = method
        n += 1
    report.inserted["method"] = n

    existing = {(t.analyte_id, t.commodity_id, t.commodity_category, t.standard, t.edition)
                for t in session.exec(select(Threshold))}
    n = 0
    for lineno, row in _rows(directory / "thresholds.csv"):
        where = f"thresholds.csv line {lineno}"
        if row["analyte"] not in analytes:
            raise ConfigError(f"{where}: unknown analyte {row['analyte']!r}")
        commodity_id = None
        if row["commodity"]:
            if row["commodity"] not in commodities:
                raise ConfigError(f"{where}: unknown commodity {row['commodity']!r}")
            commodity_id = commodities[row["commodity"]].id
        category = row["commodity_category"] or None
        if (commodity_id is None) == (category is None):
            raise ConfigError(f"{where}: give exactly one of commodity or commodity_category")
        if category is not None and scopes and _norm(category) not in scopes:
            raise ConfigError(f"{where}: commodity_category {category!r} is no group or category "
                              f"of commodity_groups.csv (known: "
                              f"{', '.join(sorted({v[1] for v in scopes.values()}))})")
        try:
            value = float(row["value"])
        except ValueError:
            raise ConfigError(f"{where}: value {row['value']!r} is not a number") from None
        if value <= 0:
            raise ConfigError(f"{where}: value must be positive")
        try:
            effective = date.fromisoformat(row["effective_from"]) if row["effective_from"] else None
        except ValueError:
            raise ConfigError(f"{where}: effective_from {row['effective_from']!r} is not a date "
                              "(YYYY-MM-DD)") from None
        confirmed = _bool(row["confirmed"], f"{where}, confirmed")
        key = (analytes[row["analyte"]].id, commodity_id, category, row["standard"], row["edition"])
        if key in existing:
            continue
        session.add(Threshold(
            analyte_id=key[0], commodity_id=commodity_id, commodity_category=category,
            standard=row["standard"], edition=row["edition"], value=value, unit=row["unit"],
            effective_from=effective, confirmed=confirmed, source=row["source"]))
        existing.add(key)
        n += 1
    report.inserted["threshold"] = n
    session.flush()
    return report
