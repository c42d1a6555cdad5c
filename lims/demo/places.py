"""Demo steps for the world results happen in: places, vendors, instruments, events.

Registered in ``lims.demo.loader.DEMO_STEPS``; each takes the run's ``DemoContext``.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import select

from lims.models import (
    CalibrationRecord,
    GridGroup,
    Instrument,
    Market,
    Method,
    OutreachEvent,
    Vendor,
)
from lims.models.enums import CalibrationKind, InstrumentKind

if TYPE_CHECKING:
    from lims.demo.loader import DemoContext

ORDINALS = "一二三四五六七八九十"


def person(rng: random.Random, names: dict) -> str:
    given = names["given"]
    n = 1 if rng.random() < 0.35 else 2
    return rng.choice(names["surnames"]) + "".join(rng.choice(given) for _ in range(n))


def _market_name(kind: str, county: dict, n_kind: int, rng: random.Random, names: dict) -> tuple[str, str]:
    """(name, township) for the ``n_kind``-th market of ``kind`` in ``county`` (0-based)."""
    towns = county["townships"]
    town = towns[n_kind % len(towns)]
    short = county["name"][:-1] if len(county["name"]) > 2 else county["name"]
    suffix = f"第{ORDINALS[n_kind // len(towns) % 10]}" if n_kind >= len(towns) else ""
    if kind == "farmers":
        return f"{town}{suffix}农贸市场", town
    if kind == "wholesale":
        return f"{short}{'蔬菜' if n_kind % 2 == 0 else '农产品'}批发市场{suffix}", towns[0]
    if kind == "supermarket":
        brands = names["supermarket_brands"]
        brand = brands[(n_kind + len(county["code"]) + ord(county["code"][0])) % len(brands)]
        return f"{brand}超市({short}{town[:2]}{suffix}店)", town
    if kind == "canteen":
        canteens = names["canteens"]
        return f"{short}{canteens[n_kind % len(canteens)]}{suffix if n_kind >= len(canteens) else ''}", town
    return f"{town}{suffix}夜市", town


def _stall(spec: dict, n: int) -> str:
    """The ``n``-th (0-based) stall code of a market kind: A01…A08, B01… or P-001, S01 …"""
    if "{row}" in spec["stall"]:
        rows, per_row = spec.get("rows", "A"), 8
        return spec["stall"].format(row=rows[(n // per_row) % len(rows)], n=n % per_row + 1)
    return spec["stall"].format(n=n + 1)


def _grade(rng: random.Random, share: dict[str, float]) -> str:
    x = rng.random()
    acc = 0.0
    for grade, p in share.items():
        acc += p
        if x < acc:
            return grade
    return list(share)[-1]


def demo_places(ctx: DemoContext) -> None:
    """Grid groups with staff, markets (every kind, cycled), vendors with licences and grades."""
    rng = ctx.rng("demo_places")
    sc = ctx.scenario
    names = sc["names"]
    kinds = sc["markets"]["kind_cycle"]
    specs = sc["markets"]["kinds"]
    k = 0
    for county in sc["county"]:
        groups = []
        for g in range(2):
            gg = GridGroup(name=f"{county['name']}第{ORDINALS[g]}网格组", county=county["name"],
                           staff=[person(rng, names) for _ in range(3)])
            ctx.session.add(gg)
            groups.append(gg)
        ctx.session.flush()
        ctx.grid_groups.extend(groups)
        per_kind: dict[str, int] = {}
        licence_seq = 1
        for j in range(ctx.markets_per_county):
            kind = kinds[k % len(kinds)]
            k += 1
            n_kind = per_kind.get(kind, 0)
            per_kind[kind] = n_kind + 1
            name, town = _market_name(kind, county, n_kind, rng, names)
            market = Market(code=f"{county['code']}-{kind[0].upper()}{j + 1:02d}", name=name,
                            county=county["name"], township=town, kind=kind,
                            grid_group_id=groups[j % 2].id)
            ctx.session.add(market)
            ctx.session.flush()
            ctx.markets.append(market)
            spec = specs[kind]
            vendors = []
            for n in range(rng.randint(*spec["vendors"])):
                owner = person(rng, names)
                if kind in ("supermarket", "canteen"):
                    vname = f"{county['name'][:2]}{owner[:1]}氏{rng.choice(names['supplier_suffix'])}"
                else:
                    vname = owner
                check = rng.randint(0, 9)
                v = Vendor(market_id=market.id, stall=_stall(spec, n), name=vname,
                           licence_no=f"JY{1 if kind != 'canteen' else 3}{county['division']}"
                                      f"{licence_seq:06d}{check}",
                           credit_grade=_grade(rng, sc["grades"]["share"]))
                licence_seq += 1
                vendors.append(v)
            ctx.session.add_all(vendors)
            ctx.vendors[market.id] = vendors
            ctx.counts["vendors"] += len(vendors)
    ctx.session.flush()
    ctx.counts["markets"] = len(ctx.markets)
    ctx.counts["grid_groups"] = len(ctx.grid_groups)


def _method_id(ctx: DemoContext, code: str) -> int | None:
    m = ctx.session.exec(select(Method).where(Method.code == code)).first()
    return m.id if m else None


def demo_instruments(ctx: DemoContext) -> None:
    """An enzyme analyzer per market, a gold reader per county, a lab analyzer, two balances,
    with calibration records: all valid, except one analyzer that becomes overdue during the
    period and one whose latest verification failed."""
    rng = ctx.rng("demo_instruments")
    names = ctx.scenario["names"]
    enz, gold_m, gcms = (_method_id(ctx, c) for c in ("ENZ-5009.199", "KJ-GOLD-CBF", "LAB-GCMS"))
    roles: dict[str, list[Instrument]] = {"enzyme": [], "gold": [], "lab": [], "balance": []}
    for i, m in enumerate(ctx.markets, start=1):
        inst = Instrument(serial_no=f"RP12-{m.code}-{2300 + i}", model="RP-12 农药残留速测仪 (12 通道)",
                          kind=InstrumentKind.PESTICIDE_ANALYZER.value, driver="profile",
                          profile="enzyme-12ch", location=m.name, market_id=m.id, method_id=enz)
        roles["enzyme"].append(inst)
        ctx.analyzer_of[m.id] = inst
    for county in ctx.scenario["county"]:
        inst = Instrument(serial_no=f"GR-{county['code']}-{rng.randint(1000, 9999)}",
                          model="JT-G8 胶体金读卡仪", kind=InstrumentKind.CARD_READER.value,
                          driver="profile", profile="gold-reader",
                          location=f"{county['name']}市场监管局快检车", method_id=gold_m)
        roles["gold"].append(inst)
        ctx.gold_reader_of[county["name"]] = inst
    lab_place = f"{ctx.scenario['county'][0]['name']}食品检验检测中心"
    roles["lab"].append(Instrument(serial_no="LIS-TQ8050-0117", model="GCMS-TQ8050 NX (ASTM LIS)",
                                   kind=InstrumentKind.LAB_ANALYZER.value, driver="astm",
                                   location=lab_place, method_id=gcms))
    for n, model in enumerate(("A&D GX-224A", "A&D GF-3000")):
        roles["balance"].append(Instrument(serial_no=f"AD-{n + 1}-{rng.randint(10000, 99999)}",
                                           model=model, kind=InstrumentKind.BALANCE.value,
                                           driver="ad", location=lab_place))
    for insts in roles.values():
        ctx.session.add_all(insts)
    ctx.session.flush()
    ctx.instruments = roles

    standards = {"enzyme": "JJF 1729-2018", "gold": "manufacturer procedure",
                 "lab": "JJF 1164-2018", "balance": "JJG 1036-2008"}
    technicians = [person(rng, names) for _ in range(3)]
    start = ctx.start
    overdue = roles["enzyme"][1] if len(roles["enzyme"]) > 1 else None
    failed = roles["enzyme"][2] if len(roles["enzyme"]) > 2 else None
    records = []
    for role, insts in roles.items():
        for inst in insts:
            done = ctx.local(start - timedelta(days=rng.randint(20, 300)), 10 + rng.random() * 6)
            due = done.astimezone(ctx.tz).date() + timedelta(days=inst.calibration_interval_days)
            if inst is overdue:
                due = ctx.until - timedelta(days=max(1, ctx.days // 4))
                done = ctx.local(due - timedelta(days=inst.calibration_interval_days), 10.5)
            records.append(_record(inst, role, done, due, "pass", rng.choice(technicians),
                                   standards[role], rng))
            if inst is failed:
                when = ctx.local(ctx.until - timedelta(days=max(2, ctx.days // 3)), 15.0)
                records.append(_record(inst, role, when, None, "fail", rng.choice(technicians),
                                       standards[role], rng))
    ctx.session.add_all(records)
    ctx.session.flush()
    ctx.counts["instruments"] = sum(len(v) for v in roles.values())
    ctx.counts["calibration_records"] = len(records)


def _record(inst: Instrument, role: str, when, due, outcome: str, who: str, standard: str,
            rng: random.Random) -> CalibrationRecord:
    if role == "enzyme":
        spread = 0.08 if outcome == "fail" else round(rng.uniform(0.005, 0.03), 3)
        readings = {"wavelength_error_nm": round(rng.uniform(-4, 4), 1),
                    "transmittance_error_pct": round(rng.uniform(-1.5, 1.5), 2),
                    "channel_difference_abs": spread}
        report = {"channel_difference_limit_abs": 0.05,
                  "decision": "channel difference exceeds 0.05" if outcome == "fail" else "within limits"}
    elif role == "balance":
        readings = {"error_at_max_mg": round(rng.uniform(-0.3, 0.3), 2)}
        report = {"decision": "within MPE"}
    else:
        readings = {}
        report = {"decision": "within limits"}
    return CalibrationRecord(
        instrument_id=inst.id, kind=CalibrationKind.VERIFICATION.value, performed_at=when,
        performed_by=who, standard=standard, readings=readings, outcome=outcome, report=report,
        due_date=due, notes="demo data")


def demo_events(ctx: DemoContext) -> None:
    """Outreach events: one per county every few days of the period, at markets or villages."""
    rng = ctx.rng("demo_events")
    spec = ctx.scenario["events"]
    names = ctx.scenario["names"]
    label = {"community": "社区", "village": "进农村", "school": "进校园", "market": "进市场"}
    by_county: dict[str, list[Market]] = {}
    for m in ctx.markets:
        by_county.setdefault(m.county, []).append(m)
    for ci, county in enumerate(ctx.scenario["county"]):
        day = ctx.start + timedelta(days=(ci * 3) % spec["every_days"])
        team = f"{county['name']}食品安全志愿服务队"
        while day <= ctx.until:
            kind = rng.choice(spec["kinds"])
            town = rng.choice(county["townships"])
            market = rng.choice(by_county.get(county["name"], [None])) if kind == "market" else None
            starts = ctx.local(day, 9.0)
            ev = OutreachEvent(
                name=f"食品安全{label[kind]}志愿服务({town})", kind=kind,
                place=market.name if market else f"{town}{'中心小学' if kind == 'school' else '文化广场'}",
                county=county["name"], market_id=market.id if market else None,
                team=f"{team}·{person(rng, names)}组", starts_at=starts,
                ends_at=starts + timedelta(hours=3), people_served=rng.randint(*spec["people"]),
                talks_given=rng.randint(*spec["talks"]))
            ctx.events.append(ev)
            day += timedelta(days=spec["every_days"])
    ctx.session.add_all(ctx.events)
    ctx.session.flush()
    ctx.counts["events"] = len(ctx.events)
