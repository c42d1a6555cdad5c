"""Realistic, reproducible demo data (``lims demo``), built by an ordered list of steps.

``run_demo(session=…, actor=…, markets_per_county=5, days=120, seed=42)`` builds a fictional
province corner (4 counties from ``demo_scenario.toml``): grid groups with named staff, markets
of every kind, vendors with stalls, licence numbers and credit grades, instruments with their
calibration records (most valid, one overdue, one failed), outreach events, and samples with
results over ``days`` days. Results go through ``lims.intake.pipeline.ingest`` (source "demo"),
so every verdict is recomputed from physically plausible raw values; the calibration gate holds
the readings of the overdue and the failed instrument. Same seed and same ``until`` date → same
data, sample codes included.

Extending the demo (other areas add their own data)
---------------------------------------------------
``DEMO_STEPS`` is the ordered list of step functions; each is called as ``step(ctx)`` with a
:class:`DemoContext`. The built-in steps are, in order::

    demo_places       counties' grid groups, markets, vendors
    demo_instruments  instruments and calibration records
    demo_events       outreach events
    demo_results      samples and results (rapid screens, re-tests, lab confirmations)

Add a step from your own module under ``lims/demo/`` (every module there is imported before
a run, so registering at import time is enough)::

    from lims.demo.loader import DemoContext, register_step

    @register_step(after="demo_results")          # or before="…", or neither: at the end
    def demo_cases(ctx: DemoContext) -> None:
        rng = ctx.rng("demo_cases")               # own random stream: reproducible, and
        for result_id in ctx.positive_ids: ...    # independent of the other steps' draws

Use ``ctx.session`` (one transaction for the whole run; flush, never commit), ``ctx.actor``,
``ctx.start``/``ctx.until`` (local dates), ``ctx.markets``, ``ctx.vendors``, ``ctx.instruments``,
``ctx.events``, ``ctx.positive_ids``/``ctx.result_ids`` and ``ctx.counts`` (add your own
figures; the CLI prints them). Users are not created here (the security area owns them).
"""

from __future__ import annotations

import importlib
import pkgutil
import random
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from lims.errors import ConfigError, Conflict, InvalidInput
from lims.models import AuditEvent, GridGroup, Instrument, Market, OutreachEvent, TestResult, Vendor
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import local_tz, now

SCENARIO = Path(__file__).resolve().parent / "scenario.toml"

DemoStep = Callable[["DemoContext"], None]


@dataclass
class DemoContext:
    session: Session
    actor: Actor
    seed: int
    markets_per_county: int
    days: int
    until: date
    tz: ZoneInfo
    scenario: dict[str, Any]
    grid_groups: list[GridGroup] = field(default_factory=list)
    markets: list[Market] = field(default_factory=list)
    vendors: dict[int, list[Vendor]] = field(default_factory=dict)       # market id → vendors
    #: role → instruments: "enzyme" (one per market, key market id in ``analyzer_of``),
    #: "gold" (one per county), "lab" (ASTM analyzer), "balance"
    instruments: dict[str, list[Instrument]] = field(default_factory=dict)
    analyzer_of: dict[int, Instrument] = field(default_factory=dict)      # market id → analyzer
    gold_reader_of: dict[str, Instrument] = field(default_factory=dict)   # county → reader
    events: list[OutreachEvent] = field(default_factory=list)
    result_ids: list[int] = field(default_factory=list)
    positive_ids: list[int] = field(default_factory=list)   # first screens that were positive
    counts: Counter = field(default_factory=Counter)
    #: nothing is generated after this instant (set when ``until`` defaults to yesterday, the
    #: last whole day: follow-ups days later must not land after now; a case cannot open in
    #: the future)
    not_after: datetime | None = None

    def happened(self, at: datetime) -> bool:
        return self.not_after is None or at <= self.not_after

    @property
    def start(self) -> date:
        return self.until - timedelta(days=self.days - 1)

    def rng(self, stream: str) -> random.Random:
        """A random generator for ``stream``, seeded from the run's seed (reproducible)."""
        return random.Random(f"{self.seed}:{stream}")

    def local(self, day: date, hours: float) -> datetime:
        """An aware timestamp ``hours`` (e.g. 9.25 = 09:15) into ``day``, local time."""
        minutes = int(round(hours * 60))
        return datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(minutes=minutes)


DEMO_STEPS: list[DemoStep] = []


def register_step(fn: DemoStep | None = None, *, after: str | None = None,
                  before: str | None = None):
    """Add a step to DEMO_STEPS (usable as ``@register_step`` or ``@register_step(after=…)``).

    Registering the same function name twice replaces the earlier one (module reloads).
    """

    def add(step: DemoStep) -> DemoStep:
        names = [s.__name__ for s in DEMO_STEPS]
        if step.__name__ in names:
            DEMO_STEPS[names.index(step.__name__)] = step
            return step
        anchor = after or before
        if anchor is not None:
            if anchor not in names:
                raise ConfigError(f"demo step {step.__name__}: no step named {anchor!r} "
                                  f"(known: {names})")
            pos = names.index(anchor) + (1 if after else 0)
            DEMO_STEPS.insert(pos, step)
        else:
            DEMO_STEPS.append(step)
        return step

    return add(fn) if fn is not None else add


def load_scenario(path: Path = SCENARIO) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def discover_steps() -> list[DemoStep]:
    """Import every module of ``lims.demo`` so the steps they register are in DEMO_STEPS."""
    import lims.demo as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{pkg.__name__}.{info.name}")
        except ImportError as exc:
            raise ConfigError(f"demo: cannot import {pkg.__name__}.{info.name} to collect its "
                              f"demo steps: {exc}") from exc
    return list(DEMO_STEPS)


@dataclass
class DemoReport:
    skipped: bool
    counts: dict[str, int]
    steps: list[str]
    start: date | None = None
    until: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"skipped": self.skipped, "counts": self.counts, "steps": self.steps,
                "start": self.start, "until": self.until}


def has_results(session: Session) -> bool:
    return session.exec(select(TestResult.id).limit(1)).first() is not None


#: the audit event ``run_demo`` appends; its presence marks the database as a demo database
DEMO_EVENT = "demo.load"


def is_demo_database(session: Session) -> bool:
    """True when ``lims demo`` loaded data into this database (its ``demo.load`` audit event).

    The app offers its local demo mode (a role picker without login) only on such a database:
    the audit trail is append-only and hash-chained, so the mark cannot be added quietly, and a
    production database that never ran ``lims demo`` never shows the picker.
    """
    return session.exec(select(AuditEvent.id).where(AuditEvent.action == DEMO_EVENT)
                        .limit(1)).first() is not None


def run_demo(*, session: Session, actor: Actor, markets_per_county: int = 5, days: int = 120,
             seed: int = 42, until: date | None = None, if_empty: bool = False,
             only: list[str] | None = None, tz: ZoneInfo | None = None) -> DemoReport:
    """Build the demo data in the caller's transaction (see the module docstring).

    ``only`` runs just the named steps (in DEMO_STEPS order), e.g. the built-in ones in a test.
    """
    tz = tz or local_tz()
    require(actor, "data.demo")
    if not 1 <= markets_per_county <= 100:
        raise InvalidInput(f"markets: {markets_per_county} is out of range (1–100 per county)")
    if not 1 <= days <= 3660:
        raise InvalidInput(f"days: {days} is out of range (1–3660)")
    if if_empty and has_results(session):
        return DemoReport(skipped=True, counts={}, steps=[])
    scenario = load_scenario()
    prefixes = tuple(f"{c['code']}-" for c in scenario["county"])
    taken = session.exec(select(Market.code)).all()
    clash = sorted(code for code in taken if code.startswith(prefixes))
    if clash:
        raise Conflict(f"demo data is already loaded (market {clash[0]} exists): use a fresh "
                       "database, or --if-empty to skip")
    not_after = None
    if until is None:   # the last whole day: today's working hours have not all happened yet
        not_after = now()
        until = not_after.astimezone(tz).date() - timedelta(days=1)
    ctx = DemoContext(session=session, actor=actor, seed=seed,
                      markets_per_county=markets_per_county, days=days, until=until, tz=tz,
                      scenario=scenario, not_after=not_after)
    steps = discover_steps()
    if only is not None:
        unknown = sorted(set(only) - {s.__name__ for s in steps})
        if unknown:
            raise InvalidInput(f"unknown demo step(s) {unknown}; known: {[s.__name__ for s in steps]}")
        steps = [s for s in steps if s.__name__ in only]
    for step in steps:
        step(ctx)
        session.flush()
    counts = dict(sorted(ctx.counts.items()))
    audit.record(session=session, actor=actor, action=DEMO_EVENT, entity="database",
                 entity_id="demo", new={"seed": seed, "days": days, "until": until,
                                        "markets_per_county": markets_per_county,
                                        "counts": counts})
    return DemoReport(skipped=False, counts=counts, steps=[s.__name__ for s in steps],
                      start=ctx.start, until=until)


# The built-in steps (imported last: they register themselves with DEMO_STEPS).
from lims.demo import places as _places  # noqa: E402
from lims.demo import results as _results  # noqa: E402

for _step in (_places.demo_places, _places.demo_instruments, _places.demo_events,
              _results.demo_results):
    register_step(_step)
