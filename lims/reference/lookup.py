"""Name → row resolution for reference data, loaded once per batch, and the MRL lookup.

Users type names in Chinese or English (commodities, analytes), codes or names (markets), serial
numbers (instruments); this cache answers each lookup without a query per row.

``find_limit`` picks the MRL row for an analyte in a commodity: the commodity's own row, else its
GB 2763 Annex A group's (叶菜类蔬菜 …), else its category's (蔬菜 / 水果). Groups and categories
come from ``lims/refdata/commodity_groups.csv`` and the vegetable bans from
``lims/refdata/banned.csv``; both files are read directly (re-read when they change), like
``enforcement.toml``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from lims.errors import ConfigError, NotFound
from lims.models import Analyte, Commodity, Instrument, Market, Method, Threshold, Vendor
from lims.storage.bulk import among
from lims.verdicts.mrl import MrlLimit

REFDATA = Path(__file__).resolve().parent.parent / "refdata"
GROUPS_FILE = REFDATA / "commodity_groups.csv"
BANNED_FILE = REFDATA / "banned.csv"
VEGETABLES = ("蔬菜", "vegetables")


def _key(text: str) -> str:
    return " ".join(text.strip().lower().split())


@dataclass(frozen=True)
class VendorRef:
    """A stall as the cache keeps it: plain values, so a cache that outlives the session that
    read it (a listener, a bench, an import in chunks) never holds an expired ORM row."""
    id: int
    market_id: int
    stall: str
    name: str


@dataclass
class RefCache:
    markets: dict[str, Market] = field(default_factory=dict)
    commodities: dict[str, Commodity] = field(default_factory=dict)
    analytes: dict[str, Analyte] = field(default_factory=dict)
    methods: dict[str, Method] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    vendors: dict[tuple[int, str], VendorRef] = field(default_factory=dict)
    vendor_markets: set[int] = field(default_factory=set)   # markets whose stalls are in
    thresholds: list[Threshold] = field(default_factory=list)
    commodity_by_id: dict[int, Commodity] = field(default_factory=dict)
    analyte_by_id: dict[int, Analyte] = field(default_factory=dict)
    method_by_id: dict[int, Method] = field(default_factory=dict)
    groups: dict[str, CommodityGroup] = field(default_factory=dict)
    banned: dict[str, Ban] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> RefCache:
        c = cls()
        for m in session.exec(select(Market)):
            c.markets[_key(m.code)] = m
            c.markets.setdefault(_key(m.name), m)
        for co in session.exec(select(Commodity)):
            c.commodities[_key(co.name_zh)] = co
            c.commodities[_key(co.name_en)] = co
            c.commodity_by_id[co.id] = co
        for a in session.exec(select(Analyte)):
            c.analytes[_key(a.name_zh)] = a
            c.analytes[_key(a.name_en)] = a
            c.analyte_by_id[a.id] = a
        for me in session.exec(select(Method)):
            c.methods[_key(me.code)] = me
            c.method_by_id[me.id] = me
        for i in session.exec(select(Instrument)):
            c.instruments[_key(i.serial_no)] = i
        # stalls are read per market on first use (``vendor``): a province has 40 000 of them
        # and a page or a batch touches a few markets
        c.thresholds = list(session.exec(select(Threshold).where(Threshold.active)))
        c.groups = read_commodity_groups()
        c.banned = read_banned()
        return c

    def market(self, name: str) -> Market:
        try:
            return self.markets[_key(name)]
        except KeyError:
            raise NotFound(f"unknown market {name!r} (give its code or name)") from None

    def find_market(self, name: str) -> Market | None:
        """The market of that code or name, or None."""
        return self.markets.get(_key(name))

    def commodity(self, name: str) -> Commodity:
        try:
            return self.commodities[_key(name)]
        except KeyError:
            raise NotFound(f"unknown commodity {name!r} (Chinese or English name)") from None

    def analyte(self, name: str) -> Analyte:
        try:
            return self.analytes[_key(name)]
        except KeyError:
            raise NotFound(f"unknown analyte {name!r} (Chinese or English name)") from None

    def method(self, code: str) -> Method:
        try:
            return self.methods[_key(code)]
        except KeyError:
            raise NotFound(f"unknown method {code!r}; known: {sorted(m.code for m in self.method_by_id.values())}") from None

    def instrument(self, serial_no: str) -> Instrument:
        try:
            return self.instruments[_key(serial_no)]
        except KeyError:
            raise NotFound(f"unknown instrument serial number {serial_no!r}") from None

    def load_stalls(self, session: Session, market_ids: set[int]) -> None:
        """Read the stalls of the markets not read yet, 500 markets per query (a batch from
        every market of a province named ~800 of them: one query each cost a quarter of an
        API upload's time)."""
        todo = sorted(market_ids - self.vendor_markets)
        for i in range(0, len(todo), 500):
            part = todo[i:i + 500]
            for vid, mid, vstall, name in session.exec(
                    select(Vendor.id, Vendor.market_id, Vendor.stall, Vendor.name)
                    .where(among(session, Vendor.market_id, part))):
                self.vendors[(mid, _key(vstall))] = VendorRef(vid, mid, vstall, name)
            self.vendor_markets.update(part)

    def vendor(self, market: Market, stall: str, session: Session | None = None) -> VendorRef:
        """The market's stall; the market's stalls are read with ``session`` the first time
        (``load_stalls`` reads many markets' at once)."""
        if market.id not in self.vendor_markets and session is not None:
            self.load_stalls(session, {market.id})
        try:
            return self.vendors[(market.id, _key(stall))]
        except KeyError:
            raise NotFound(f"unknown vendor stall {stall!r} in market {market.code}") from None

    def limit(self, analyte: Analyte, commodity: Commodity, on: date | None = None,
              standard: str | None = None) -> MrlLimit | None:
        return find_limit(self.thresholds, analyte, commodity, on=on, standard=standard,
                          groups=self.groups, banned=self.banned)


# ------------------------------------------------------------------ groups and bans (files)

@dataclass(frozen=True)
class CommodityGroup:
    """A commodity's GB 2763 Annex A group and category (one row of commodity_groups.csv)."""

    name_zh: str
    name_en: str
    group_zh: str
    group_en: str
    category_zh: str
    category_en: str
    confirmed: bool = False
    source: str = ""


@dataclass(frozen=True)
class Ban:
    """Whether a pesticide is banned on vegetables (one row of banned.csv)."""

    analyte: str
    banned_on_vegetables: bool
    notice: str = ""
    source: str = ""


GROUP_COLUMNS = ("name_zh", "name_en", "group_zh", "group_en", "category_zh", "category_en",
                 "confirmed", "source")
BANNED_COLUMNS = ("analyte", "banned_on_vegetables", "notice", "source")
_FILE_CACHE: dict[tuple[str, int, int], object] = {}


def _flag(text: str, where: str) -> bool:
    t = (text or "").strip().lower()
    if t in ("true", "1", "yes"):
        return True
    if t in ("false", "0", "no", ""):
        return False
    raise ConfigError(f"{where}: expected true/false, got {text!r}")


def _csv_rows(path: Path, columns: tuple[str, ...]):
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path.name} line 1: missing column(s) {', '.join(missing)}")
        for lineno, row in enumerate(reader, start=2):
            if None in row or any(v is None for v in row.values()):
                raise ConfigError(f"{path.name} line {lineno}: expected {len(reader.fieldnames)} "
                                  "fields separated by commas")
            yield lineno, {k: v.strip() for k, v in row.items()}


def _cached(path: Path, parse):
    """``parse(path)``, re-read when the file changes (an edit applies to the next lookup)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return parse(None)
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _FILE_CACHE:
        _FILE_CACHE[key] = parse(path)
    return _FILE_CACHE[key]


def _parse_groups(path: Path | None) -> dict[str, CommodityGroup]:
    out: dict[str, CommodityGroup] = {}
    if path is None:
        return out
    for lineno, row in _csv_rows(path, GROUP_COLUMNS):
        where = f"{path.name} line {lineno}"
        for col in GROUP_COLUMNS[:6]:
            if not row[col]:
                raise ConfigError(f"{where}: {col} is empty")
        g = CommodityGroup(*(row[c] for c in GROUP_COLUMNS[:6]),
                           confirmed=_flag(row["confirmed"], f"{where}, confirmed"),
                           source=row["source"])
        out[_key(g.name_zh)] = g
        out.setdefault(_key(g.name_en), g)
    return out


def _parse_banned(path: Path | None) -> dict[str, Ban]:
    out: dict[str, Ban] = {}
    if path is None:
        return out
    for lineno, row in _csv_rows(path, BANNED_COLUMNS):
        where = f"{path.name} line {lineno}"
        if not row["analyte"]:
            raise ConfigError(f"{where}: analyte is empty")
        out[_key(row["analyte"])] = Ban(
            row["analyte"], _flag(row["banned_on_vegetables"], f"{where}, banned_on_vegetables"),
            row["notice"], row["source"])
    return out


def read_commodity_groups(path: Path = GROUPS_FILE) -> dict[str, CommodityGroup]:
    """commodity_groups.csv keyed by commodity name (Chinese and English); {} without the file."""
    return _cached(Path(path), _parse_groups)


def read_banned(path: Path = BANNED_FILE) -> dict[str, Ban]:
    """banned.csv keyed by the analyte's Chinese name; {} without the file."""
    return _cached(Path(path), _parse_banned)


def known_scopes(groups: dict[str, CommodityGroup]) -> dict[str, tuple[str, str]]:
    """Every group and category name (Chinese or English, normalised) → (level, Chinese name)."""
    out: dict[str, tuple[str, str]] = {}
    for g in groups.values():
        out.setdefault(_key(g.category_zh), ("category", g.category_zh))
        out.setdefault(_key(g.category_en), ("category", g.category_zh))
    for g in groups.values():
        out[_key(g.group_zh)] = ("group", g.group_zh)
        out[_key(g.group_en)] = ("group", g.group_zh)
    return out


@dataclass(frozen=True)
class CommodityScope:
    """Where a commodity sits: the names its group and its category go by."""

    group: frozenset[str]
    category: frozenset[str]
    group_name: str
    category_name: str

    @property
    def is_vegetable(self) -> bool:
        """In the 蔬菜 category; for a group not in commodity_groups.csv, named like one."""
        if self.category:
            return bool(self.category & {_key(v) for v in VEGETABLES})
        return any(_key(v).rstrip("s") in g for g in self.group for v in VEGETABLES)


def commodity_scope(commodity: Commodity, groups: dict[str, CommodityGroup]) -> CommodityScope:
    """The commodity's group and category: its row of commodity_groups.csv; for a commodity not
    listed there, its ``category`` taken as the group (and that group's category, if known)."""
    g = groups.get(_key(commodity.name_zh or "")) or groups.get(_key(commodity.name_en or ""))
    if g is None:
        own = (commodity.category or "").strip()
        g = next((x for x in groups.values() if _key(own) in (_key(x.group_zh),
                                                                _key(x.group_en))), None)
        if g is None:
            return CommodityScope(frozenset({_key(own)}) - {""}, frozenset(), own, "")
    return CommodityScope(frozenset({_key(g.group_zh), _key(g.group_en)}),
                          frozenset({_key(g.category_zh), _key(g.category_en)}),
                          g.group_zh, g.category_zh)


def _newest_editions(candidates: list[tuple[int, Threshold]]) -> list[tuple[int, Threshold]]:
    """Of each standard, only the rows of its newest edition among ``candidates`` (the rows that
    apply to this analyte in this commodity and are in force): a new edition replaces the old one
    (GB 2763-2021 replaced GB 2763-2019), so a 2019 row for 韭菜 does not outrank the 2021 row
    of its group. A supplement with its own number (GB 2763.1-2022) is another standard and
    stays beside it."""
    newest: dict[str, tuple[date, str]] = {}
    for _lv, t in candidates:
        k = (t.effective_from or date.min, t.edition)
        newest[_key(t.standard)] = max(newest.get(_key(t.standard), k), k)
    return [(lv, t) for lv, t in candidates if t.edition == newest[_key(t.standard)][1]]


def find_limit(thresholds: list[Threshold], analyte: Analyte, commodity: Commodity, *,
               on: date | None = None, standard: str | None = None,
               groups: dict[str, CommodityGroup] | None = None,
               banned: dict[str, Ban] | None = None) -> MrlLimit | None:
    """The MRL that applies to ``analyte`` in ``commodity``.

    With ``standard`` ("GB 2763-2021" or "GB 2763.1-2022"): that edition. Otherwise the edition in
    force on ``on`` (the latest ``effective_from`` not after it; every edition when ``on`` is
    None), and of each standard only its newest edition that has a row for this analyte and
    commodity (its own, its group's or its category's). Then the commodity's own row wins over
    its group's row, which wins over its category's (GB 2763 Annex A: 菠菜 → 叶菜类蔬菜 → 蔬菜);
    the limit says which was used, whether the row is confirmed, and whether the pesticide is banned on vegetables (for a vegetable).
    """
    groups = read_commodity_groups() if groups is None else groups
    banned = read_banned() if banned is None else banned
    scope = commodity_scope(commodity, groups)

    def level(t: Threshold) -> int:
        if t.commodity_id is not None:
            return 3 if t.commodity_id == commodity.id else 0
        k = _key(t.commodity_category or "")
        return 2 if k in scope.group else 1 if k in scope.category else 0

    candidates = [(level(t), t) for t in thresholds if t.analyte_id == analyte.id]
    candidates = [(lv, t) for lv, t in candidates if lv]
    if standard:
        wanted = _key(standard)
        candidates = [(lv, t) for lv, t in candidates if _key(t.standard_edition) == wanted]
    elif on is not None:
        candidates = [(lv, t) for lv, t in candidates
                      if t.effective_from is None or t.effective_from <= on]
    if not standard:
        candidates = _newest_editions(candidates)
    if not candidates:
        return None
    lv, best = max(candidates, key=lambda c: (c[0], c[1].effective_from or date.min,
                                              c[1].edition))
    ban = banned.get(_key(analyte.name_zh or ""))
    is_banned = bool(ban and ban.banned_on_vegetables and scope.is_vegetable)
    used_for = commodity.name_zh + (f" ({commodity.name_en})" if commodity.name_en else "")
    return MrlLimit(value=best.value, unit=best.unit, standard=best.standard,
                    edition=best.edition, source=best.source, threshold_id=best.id,
                    confirmed=bool(best.confirmed),
                    scope={3: "commodity", 2: "group", 1: "category"}[lv],
                    scope_name={3: commodity.name_zh, 2: scope.group_name,
                                1: scope.category_name}[lv],
                    used_for=used_for, banned_on_vegetables=is_banned,
                    banned_notice=ban.notice if is_banned and ban else "")
