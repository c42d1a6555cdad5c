"""Name → row resolution for reference data, loaded once per batch.

Users type names in Chinese or English (commodities, analytes), codes or names (markets), serial
numbers (instruments); this cache answers each lookup without a query per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from lims.errors import NotFound
from lims.models import Analyte, Commodity, Instrument, Market, Method, Threshold, Vendor
from lims.verdicts import Limit


def _key(text: str) -> str:
    return " ".join(text.strip().lower().split())


@dataclass
class RefCache:
    markets: dict[str, Market] = field(default_factory=dict)
    commodities: dict[str, Commodity] = field(default_factory=dict)
    analytes: dict[str, Analyte] = field(default_factory=dict)
    methods: dict[str, Method] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    vendors: dict[tuple[int, str], Vendor] = field(default_factory=dict)
    thresholds: list[Threshold] = field(default_factory=list)
    commodity_by_id: dict[int, Commodity] = field(default_factory=dict)
    analyte_by_id: dict[int, Analyte] = field(default_factory=dict)
    method_by_id: dict[int, Method] = field(default_factory=dict)

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
        for v in session.exec(select(Vendor)):
            c.vendors[(v.market_id, _key(v.stall))] = v
        c.thresholds = list(session.exec(select(Threshold).where(Threshold.active)))
        return c

    def market(self, name: str) -> Market:
        try:
            return self.markets[_key(name)]
        except KeyError:
            raise NotFound(f"unknown market {name!r} (give its code or name)") from None

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

    def vendor(self, market: Market, stall: str) -> Vendor:
        try:
            return self.vendors[(market.id, _key(stall))]
        except KeyError:
            raise NotFound(f"unknown vendor stall {stall!r} in market {market.code}") from None

    def limit(self, analyte: Analyte, commodity: Commodity, on: date | None = None,
              standard: str | None = None) -> Limit | None:
        return find_limit(self.thresholds, analyte, commodity, on=on, standard=standard)


def find_limit(thresholds: list[Threshold], analyte: Analyte, commodity: Commodity, *,
               on: date | None = None, standard: str | None = None) -> Limit | None:
    """The MRL that applies to ``analyte`` in ``commodity``.

    With ``standard`` ("GB 2763-2021" or "GB 2763.1-2022"): that edition. Otherwise the edition in
    force on ``on`` (the latest ``effective_from`` not after it; today when ``on`` is None). A
    commodity's own row wins over its category's row.
    """
    candidates = [t for t in thresholds if t.analyte_id == analyte.id and (
        t.commodity_id == commodity.id or (t.commodity_id is None
                                           and t.commodity_category == commodity.category))]
    if standard:
        wanted = _key(standard)
        candidates = [t for t in candidates if _key(t.standard_edition) == wanted]
    elif on is not None:
        candidates = [t for t in candidates if t.effective_from is None or t.effective_from <= on]
    if not candidates:
        return None
    best = max(candidates, key=lambda t: (t.commodity_id is not None,
                                          t.effective_from or date.min, t.edition))
    return Limit(value=best.value, unit=best.unit, standard=best.standard, edition=best.edition,
                 source=best.source, threshold_id=best.id)
