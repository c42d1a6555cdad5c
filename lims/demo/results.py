"""Demo step: samples and results over the period, stored through the ingest service.

Each first screen has a designed outcome (seasonal, by vendor grade and commodity risk) and raw
values that produce it physically plausibly (ΔA0 0.35–0.60 for a good enzyme control, T/C well
clear of the kit's cut-off …); the ingest service recomputes the verdict from those raw values.
Positives are re-tested twice with the same method (an enzyme positive opens its case only when
both re-tests confirm it, ``lims.intake.retests``), suspicious screens once, and some positives
go to the lab (LAB-GCMS/LAB-LCMS, with analyte and mg/kg value) a few days later, linked to the
screen through ``retest_of_id``. Results are ingested a week at a time (source "demo").
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import func, select

from lims.demo.places import person
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.intake.readings import CODE_ALPHABET
from lims.models import Market, Sample, TestResult
from lims.reference.lookup import RefCache

if TYPE_CHECKING:
    from lims.demo.loader import DemoContext

WORD = {"negative": "阴性", "suspicious": "可疑", "positive": "阳性", "invalid": "无效"}
ENZYME = "ENZ-5009.199"
CARD = "ENZ-CARD"


def season(day: date, rates: dict) -> float:
    """1 + amplitude × cos(2π (day of year − peak) / 365.25): worse in summer."""
    doy = day.timetuple().tm_yday
    return 1.0 + rates["season_amplitude"] * math.cos(
        2 * math.pi * (doy - rates["season_peak_day"]) / 365.25)


def enzyme_raw(outcome: str, rng: random.Random, *, borderline: bool = False) -> dict:
    """ΔA0/ΔAt (absorbance at 412 nm over 3 min) that give ``outcome`` under GB/T 5009.199."""
    if outcome == "invalid":  # weak enzyme: control below the 0.3 minimum
        a0 = rng.uniform(0.16, 0.27)
        return {"control_delta": round(a0, 3), "sample_delta": round(a0 * rng.uniform(0.6, 0.95), 3)}
    a0 = rng.uniform(0.35, 0.60)
    if outcome == "positive":
        rate = rng.uniform(50.4, 51.6) if borderline else rng.uniform(52.0, 92.0)
    elif outcome == "suspicious":
        rate = rng.uniform(41.0, 49.0)
    else:
        rate = min(36.0, abs(rng.gauss(10.0, 9.0)))
    at = a0 * (1 - rate / 100.0)
    return {"control_delta": round(a0, 3), "sample_delta": round(at, 3)}


def gold_raw(outcome: str, rng: random.Random) -> dict:
    """T and C line intensities of a competitive strip (cut-off T/C 1.0)."""
    c = rng.uniform(0.6, 1.4)
    if outcome == "invalid":
        return {"t": round(rng.uniform(0.2, 1.0), 3), "c": round(rng.uniform(0.0, 0.06), 3)}
    ratio = rng.uniform(0.15, 0.8) if outcome == "positive" else rng.uniform(1.1, 1.8)
    return {"t": round(c * ratio, 3), "c": round(c, 3)}


def card_raw(outcome: str, rng: random.Random) -> dict:
    if outcome == "invalid":
        return {"colour": "sky_blue", "blank_ok": False}
    if outcome == "positive":
        return {"colour": rng.choice(["unchanged", "faint_blue", "white"])}
    return {"colour": rng.choice(["sky_blue", "blue", "same_as_blank"])}


class _World:
    """Choices shared by the day loops: commodities, methods, outcomes, staff."""

    def __init__(self, ctx: DemoContext, rng: random.Random):
        self.ctx, self.rng = ctx, rng
        sc = ctx.scenario
        self.rates = sc["rates"]
        self.commodities = sc["commodity"]
        self.weights = [c["weight"] for c in self.commodities]
        self.grade_risk = sc["grades"]["risk"]
        self.staff = {g.id: g.staff for g in ctx.grid_groups}

    def outcome(self, day: date, grade: str, commodity: dict, *, rapid_kind: str) -> str:
        p_pos = min(0.5, self.rates["positive"] * season(day, self.rates)
                    * self.grade_risk.get(grade, 1.0) * commodity.get("risk", 1.0))
        p_susp = p_pos * self.rates["suspicious_ratio"] if rapid_kind == "enzyme" else 0.0
        x = self.rng.random()
        if x < self.rates["invalid"]:
            return "invalid"
        x -= self.rates["invalid"]
        if x < p_pos:
            return "positive"
        if x - p_pos < p_susp:
            return "suspicious"
        return "negative"

    def screen(self, *, market: Market | None, vendor_stall: str | None, grade: str, day: date,
               at: datetime, card_share: float, tester: str, event_id: int | None = None) -> ReadingIn:
        rng = self.rng
        commodity = rng.choices(self.commodities, weights=self.weights)[0]
        if commodity.get("kit") and rng.random() < commodity.get("gold_share", 0.0):
            kind, method = "gold", commodity["kit"]
        elif market is None or rng.random() < card_share:
            kind, method = "card", CARD
        else:
            kind, method = "enzyme", ENZYME
        outcome = self.outcome(day, grade, commodity, rapid_kind=kind)
        inst_serial = inst_verdict = channel = None
        if kind == "enzyme":
            borderline = outcome == "negative" and rng.random() < self.rates["instrument_disagrees"]
            raw = enzyme_raw("positive" if borderline else outcome, rng, borderline=borderline)
            inst = self.ctx.analyzer_of.get(market.id) if market else None
            inst_serial = inst.serial_no if inst else None
            # an analyzer whose firmware cut-off sits at 52 % calls a 50.4–51.6 % sample negative
            inst_verdict = WORD["negative"] if borderline else WORD[outcome]
        elif kind == "gold":
            outcome = "negative" if outcome == "suspicious" else outcome
            raw = gold_raw(outcome, rng)
            county = market.county if market else self.ctx.scenario["county"][0]["name"]
            inst = self.ctx.gold_reader_of.get(county)
            inst_serial = inst.serial_no if inst else None
            inst_verdict = WORD[outcome]
        else:
            raw = card_raw("negative" if outcome == "suspicious" else outcome, rng)
        return ReadingIn(method=method, raw=raw, tested_at=at,
                         market=market.code if market else None, vendor_stall=vendor_stall,
                         resident_purchase=market is None, commodity=commodity["name"],
                         instrument_serial=inst_serial, channel=channel,
                         instrument_verdict=inst_verdict, tested_by=tester, event_id=event_id,
                         source="demo")


def _day_screens(world: _World, day: date) -> list[ReadingIn]:
    ctx, rng = world.ctx, world.rng
    kinds = ctx.scenario["markets"]["kinds"]
    out: list[ReadingIn] = []
    for market in ctx.markets:
        spec = kinds[market.kind]
        vendors = ctx.vendors.get(market.id, [])
        n = rng.randint(*spec["samples_per_day"])
        lo, hi = spec["hours"]
        times = sorted(rng.uniform(lo, hi) for _ in range(n))
        staff = world.staff.get(market.grid_group_id) or ["检测员"]
        tester = rng.choice(staff)
        for i, h in enumerate(times):
            v = rng.choice(vendors) if vendors else None
            r = world.screen(market=market, vendor_stall=v.stall if v else None,
                             grade=v.credit_grade if v else "B", day=day,
                             at=ctx.local(day, h), card_share=spec.get("card_share", 0.0),
                             tester=tester)
            if r.method == ENZYME:
                r.channel = str(i % 11 + 2)  # channel 1 holds the control
            out.append(r)
    ev_spec = ctx.scenario["events"]
    for ev in ctx.events:
        if ev.starts_at.astimezone(ctx.tz).date() != day:
            continue
        for k in range(rng.randint(*ev_spec["samples"])):
            out.append(world.screen(market=None, vendor_stall=None, grade="B", day=day,
                                    at=ctx.local(day, 9.25 + k * 0.2), card_share=1.0,
                                    tester=ev.team.split("·")[-1].removesuffix("组"),
                                    event_id=ev.id))
    return out


def _follow_ups(world: _World, cache: RefCache, screen: ReadingIn, result_id: int,
                sample_code: str, outcome: str, lab_staff: list[str]) -> list[ReadingIn]:
    """Rapid re-tests of a positive (twice) or suspicious screen (once), and lab confirmation."""
    ctx, rng, rates = world.ctx, world.rng, world.rates
    out: list[ReadingIn] = []
    kind = {ENZYME: "enzyme", CARD: "card"}.get(screen.method, "gold")
    for k in range(2 if outcome == "positive" else 1):
        if outcome == "positive":
            again = "positive" if rng.random() < rates["retest_confirms"] else "negative"
        else:
            again = "positive" if rng.random() < 0.25 else "negative"
        raw = (enzyme_raw(again, rng) if kind == "enzyme" else
               gold_raw(again, rng) if kind == "gold" else card_raw(again, rng))
        out.append(ReadingIn(
            method=screen.method, raw=raw, tested_at=screen.tested_at + timedelta(minutes=25 * (k + 1)),
            sample_code=sample_code, instrument_serial=screen.instrument_serial,
            channel=screen.channel, instrument_verdict=WORD[again] if screen.instrument_serial else None,
            tested_by=screen.tested_by, retest_of_id=result_id, source="demo"))
    if outcome != "positive" or rng.random() >= rates["lab_share"]:
        return out
    options = ctx.scenario["lab"].get(screen.commodity or "", [])
    if not options:
        return out
    analyte_name, method = rng.choice(options)
    when = screen.tested_at + timedelta(days=rng.randint(1, 3), minutes=rng.randint(240, 420))
    if when.astimezone(ctx.tz).date() > ctx.until:
        return out
    analyte, commodity = cache.analyte(analyte_name), cache.commodity(screen.commodity or "")
    limit = cache.limit(analyte, commodity, when.astimezone(ctx.tz).date())
    if limit is None:
        return out
    factor = (rng.uniform(1.5, 8.0) if rng.random() < rates["lab_noncompliant"]
              else rng.uniform(0.05, 0.7))
    lab = ctx.instruments.get("lab", [])
    out.append(ReadingIn(
        method=method, raw={"value": round(limit.value * factor, 4), "unit": limit.unit},
        tested_at=when, sample_code=sample_code, analyte=analyte_name,
        instrument_serial=lab[0].serial_no if lab and method == "LAB-GCMS" else None,
        tested_by=rng.choice(lab_staff), retest_of_id=result_id, source="demo"))
    return out


def _seeded_code(rng: random.Random, drawn: set[str]) -> str:
    """A sample code drawn from the seed (the pipeline would draw one from the system's random
    source), so the same seed gives the same slips."""
    code = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
    while code in drawn:
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
    drawn.add(code)
    return code


def demo_results(ctx: DemoContext) -> None:
    """Samples and results for every day of the period, a week per ingest batch."""
    rng = ctx.rng("demo_results")
    world = _World(ctx, rng)
    cache = RefCache.load(ctx.session)
    lab_staff = [person(rng, ctx.scenario["names"]) for _ in range(3)]
    code_rng = ctx.rng("demo_sample_codes")
    drawn: set[str] = set(ctx.session.exec(select(Sample.code)))
    day = ctx.start
    while day <= ctx.until:
        week_end = min(ctx.until, day + timedelta(days=6))
        screens: list[ReadingIn] = []
        while day <= week_end:
            screens.extend(x for x in _day_screens(world, day) if ctx.happened(x.tested_at))
            day += timedelta(days=1)
        for screen in screens:
            screen.sample_code = _seeded_code(code_rng, drawn)
        report = accept_readings(session=ctx.session, actor=ctx.actor, readings=screens,
                                 cache=cache, tz=ctx.tz)
        follow: list[ReadingIn] = []
        for screen, stored in zip(screens, report.stored, strict=True):
            if stored.duplicate:
                continue
            ctx.result_ids.append(stored.result_id)
            outcome = stored.verdict.outcome.value
            ctx.counts[f"screens_{outcome}"] += 1
            if stored.status == "held":
                ctx.counts["held"] += 1
            if stored.mismatch:
                ctx.counts["instrument_disagreements"] += 1
            if outcome == "positive":
                ctx.positive_ids.append(stored.result_id)
            if outcome in ("positive", "suspicious"):
                follow.extend(_follow_ups(world, cache, screen, stored.result_id,
                                          stored.sample_code, outcome, lab_staff))
        follow = [x for x in follow if ctx.happened(x.tested_at)]
        if follow:
            rep2 = accept_readings(session=ctx.session, actor=ctx.actor, readings=follow, cache=cache, tz=ctx.tz)
            for r, stored in zip(follow, rep2.stored, strict=True):
                ctx.result_ids.append(stored.result_id)
                ctx.counts["lab_results" if r.method.startswith("LAB-") else "retests"] += 1
                if stored.status == "held":
                    ctx.counts["held"] += 1
            release_lab_results(ctx, follow, rep2.stored, lab_staff)
        ctx.counts["samples"] += sum(1 for s in report.stored if not s.duplicate)
    ctx.counts["results"] = len(ctx.result_ids)
    _count_retest_states(ctx)


def release_lab_results(ctx: DemoContext, readings: list[ReadingIn], stored: list,
                         lab_staff: list[str]) -> None:
    """A second member of the lab staff releases the demo's lab results (issue 19,
    ``lims.lab.release``), except those of the last two days: they wait in the release queue."""
    from lims.lab import release
    from lims.models.enums import ResultStatus, Role
    from lims.security.auth import Actor
    from lims.timeutil import now

    recent = now() - timedelta(days=2)
    for r, st in zip(readings, stored, strict=True):
        if st.duplicate or not r.method.startswith("LAB-") or st.status != "held" \
                or r.tested_at > recent:
            continue
        tr = ctx.session.get(TestResult, st.result_id)
        if tr.status != ResultStatus.HELD.value or any(
                x.startswith("held:") and "second-person" not in x for x in tr.verdict_reasons):
            continue   # held for calibration as well: left for review
        other = next((p for p in lab_staff if p != r.tested_by), "lab-release")
        release.release(session=ctx.session, actor=Actor(other, Role.LAB_TECHNICIAN),
                        result_id=st.result_id)
        ctx.counts["lab_released"] += 1


def _count_retest_states(ctx: DemoContext) -> None:
    """How the positives stand after their re-tests (``lims.intake.retests``): an enzyme
    positive opens its case only when both re-tests confirm it; a held one waits for review."""
    states = dict(ctx.session.exec(select(Sample.retest_state, func.count())
                                   .where(Sample.retest_state.is_not(None))
                                   .group_by(Sample.retest_state)).all())
    for state in ("pending", "confirmed", "not_confirmed"):
        ctx.counts[f"positives_retest_{state}"] = states.get(state, 0)
    ctx.counts["positives_held"] = ctx.session.exec(
        select(func.count()).select_from(TestResult).where(
            TestResult.verdict == "positive", TestResult.retest_of_id.is_(None),
            TestResult.status == "held", TestResult.source == "demo")).one()
