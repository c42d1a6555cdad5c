"""``lims sync pull``: places, vendors with their grades and instruments come down to a station.

The central server is the master of these: a pull upserts markets (by code), vendors (by market
and stall) and instruments (by serial number) from ``GET /api/v1/reference`` and records the pull
on the station's ``SyncPeer`` row; from then on the database is a station and local edits of
places, vendors and instruments are refused (``refuse_on_station``). Methods, thresholds and
kits ship with the product's reference data on both sides: the pull compares them and reports
what the station lacks, without rewriting the station's versioned thresholds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from lims.errors import LimsError
from lims.models import Analyte, Commodity, Instrument, Market, Method, Threshold, Vendor
from lims.security.audit import record as audit
from lims.security.auth import Actor, require
from lims.sync.http import Central
from lims.sync.push import peer
from lims.timeutil import now


@dataclass
class PullReport:
    url: str
    created: dict[str, int] = field(default_factory=lambda: {"markets": 0, "vendors": 0,
                                                             "instruments": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"markets": 0, "vendors": 0,
                                                             "instruments": 0})
    missing_methods: list[str] = field(default_factory=list)
    missing_thresholds: int = 0
    version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "created": self.created, "updated": self.updated,
                "missing_methods": self.missing_methods,
                "missing_thresholds": self.missing_thresholds, "version": self.version}


def _set(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return changed


def _apply_markets(session: Session, ref: dict, rep: PullReport) -> dict[str, Market]:
    markets = {m.code: m for m in session.exec(select(Market))}
    for m in ref.get("markets", []):
        values = {"name": m["name"], "county": m["county"], "township": m.get("township", ""),
                  "kind": m["kind"]}
        row = markets.get(m["code"])
        if row is None:
            row = markets[m["code"]] = Market(code=m["code"], **values)
            session.add(row)
            rep.created["markets"] += 1
        elif _set(row, values):
            rep.updated["markets"] += 1
    session.flush()
    vendors = {(v.market_id, v.stall): v for v in session.exec(select(Vendor))}
    for m in ref.get("markets", []):
        market = markets[m["code"]]
        for v in m.get("vendors", []):
            values = {"name": v["name"], "credit_grade": v["credit_grade"]}
            row = vendors.get((market.id, v["stall"]))
            if row is None:
                session.add(Vendor(market_id=market.id, stall=v["stall"], **values))
                rep.created["vendors"] += 1
            elif _set(row, values):
                rep.updated["vendors"] += 1
    return markets


def _apply_instruments(session: Session, ref: dict, markets: dict[str, Market],
                       rep: PullReport) -> None:
    methods = {m.code: m.id for m in session.exec(select(Method))}
    have = {i.serial_no: i for i in session.exec(select(Instrument))}
    for i in ref.get("instruments", []):
        market = markets.get(i["market"]) if i.get("market") else None
        values = {"model": i["model"], "kind": i["kind"], "driver": i["driver"],
                  "profile": i.get("profile"), "market_id": market.id if market else None,
                  "method_id": methods.get(i["method"]) if i.get("method") else None,
                  "calibration_interval_days": i["calibration_interval_days"],
                  "active": i["active"]}
        row = have.get(i["serial_no"])
        if row is None:
            session.add(Instrument(serial_no=i["serial_no"], **values))
            rep.created["instruments"] += 1
        elif _set(row, values):
            rep.updated["instruments"] += 1


def _compare_reference(session: Session, ref: dict, rep: PullReport) -> None:
    codes = set(session.exec(select(Method.code)))
    rep.missing_methods = sorted(m["code"] for m in ref.get("methods", []) if m["code"] not in codes)
    analyte = {a.id: a.name_en for a in session.exec(select(Analyte))}
    commodity = {c.id: c.name_en for c in session.exec(select(Commodity))}
    local = {(analyte.get(t.analyte_id, ""), commodity.get(t.commodity_id) if t.commodity_id
              else None, t.commodity_category, t.standard, t.edition, float(t.value))
             for t in session.exec(select(Threshold).where(Threshold.active))}
    rep.missing_thresholds = sum(
        1 for t in ref.get("thresholds", [])
        if (t["analyte"], t.get("commodity"), t.get("commodity_category"), t["standard"],
            t["edition"], float(t["value"])) not in local)


def pull(*, session: Session, actor: Actor, central: Central) -> PullReport:
    """Fetch the reference from the server and apply it in one transaction."""
    require(actor, "sync.pull")
    ref = central.call("GET", "/reference")
    if not isinstance(ref, dict) or "markets" not in ref:
        raise LimsError(f"{central.url('/reference')}: the answer is not a reference document")
    rep = PullReport(url=central.base.rstrip("/"))
    rep.version = hashlib.sha256(json.dumps(ref, sort_keys=True, ensure_ascii=False)
                                 .encode("utf-8")).hexdigest()
    try:
        markets = _apply_markets(session, ref, rep)
        session.flush()
        _apply_instruments(session, ref, markets, rep)
        _compare_reference(session, ref, rep)
        row = peer(session, central.base)
        row.pulled_at, row.pull_version = now(), rep.version
        session.add(row)
        audit(session=session, actor=actor, action="sync.pull", entity="sync_peer",
              entity_id=row.id, new=rep.to_dict())
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return rep
