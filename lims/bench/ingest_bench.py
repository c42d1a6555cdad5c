"""Bulk ingest through the real ingest service: verdict, calibration gate, idempotency, rollups.

The readings land in the last week of the benchmark data and are drawn with the generated data's
verdict mix (``datagen.MIX``). They used to be drawn uniformly (an enzyme inhibition anywhere in
0–80 %, a gold T/C in 0–2, a lab value around the MRL: about half of them failing), and a reused
benchmark database keeps every run's readings: after two or three runs at 10 M the last week held
as many of them as generated results and the all-market trend showed ~74 % there against ~94 %
in every other week (issue 16). The data was wrong, not the edge-week read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from lims.bench import cpu
from lims.bench.datagen import END, MIX, VENDORS_PER_MARKET
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Commodity, Market
from lims.reference.lookup import RefCache
from lims.security.auth import SYSTEM
from lims.timeutil import local_tz


def readings(engine: sa.Engine, n: int, *, seed: int = 1, tag: str = "",
             markets: int | None = None, instruments: int = 60) -> list[ReadingIn]:
    """``n`` enzyme/gold/lab readings during the last week, at every benchmark market (or at
    ``markets`` of them, drawn by ``seed``: what one county's stations send), from
    ``instruments`` instruments."""
    rnd = random.Random(seed)
    with engine.connect() as conn:
        everywhere = [r[0] for r in conn.execute(sa.select(Market.code)
                                                 .where(Market.code.like("BM%")))]
        commodities = [r[0] for r in conn.execute(sa.select(Commodity.name_zh))]
    markets = sorted(rnd.sample(everywhere, markets)) if markets else everywhere
    base = datetime(END.year, END.month, END.day, 8, tzinfo=local_tz()) - timedelta(days=6)
    out = []
    for i in range(n):
        at = base + timedelta(seconds=rnd.randrange(6 * 86400))
        common = {"tested_at": at, "market": rnd.choice(markets),
                  "vendor_stall": f"S{rnd.randrange(VENDORS_PER_MARKET):03d}",
                  "instrument_serial": f"BENCH-{rnd.randrange(instruments):03d}",
                  "ingest_key": f"ingest-{tag}-{seed}-{i}", "source": "import"}
        x = rnd.random()
        if x < 0.7:
            v = _draw(rnd, "enzyme_inhibition")
            out.append(ReadingIn(method="ENZ-5009.199", commodity=rnd.choice(commodities),
                                 raw=enzyme_raw(rnd, v), instrument_verdict=WORD[v], **common))
        elif x < 0.9:
            out.append(ReadingIn(method="KJ-GOLD-CBF", commodity=rnd.choice(commodities),
                                 raw=gold_raw(rnd, _draw(rnd, "colloidal_gold")), **common))
        else:   # chlorpyrifos in celery: MRL 0.05 mg/kg (GB 2763-2021)
            ok = _draw(rnd, "lab_quantitative") == "compliant"
            out.append(ReadingIn(method="LAB-GCMS", commodity="芹菜", analyte="毒死蜱",
                                 raw={"value": round(rnd.uniform(0.0, 0.04) if ok
                                                     else rnd.uniform(0.06, 0.3), 4)}, **common))
    return out


WORD = {"negative": "阴性", "positive": "阳性", "suspicious": "可疑", "invalid": "无效"}


def _draw(rnd: random.Random, kind: str) -> str:
    words, p = MIX[kind]
    return rnd.choices(words, weights=p)[0]


def enzyme_raw(rnd: random.Random, verdict: str) -> dict:
    """ΔA0/ΔAt giving ``verdict`` (inhibition < 40 % negative, 40–50 % suspicious, ≥ 50 %
    positive; a control below the 0.3 minimum is invalid), clear of the boundaries."""
    a0 = rnd.uniform(0.16, 0.27) if verdict == "invalid" else rnd.uniform(0.35, 0.6)
    rate = {"negative": (0.0, 36.0), "suspicious": (41.0, 49.0), "positive": (52.0, 90.0),
            "invalid": (10.0, 30.0)}[verdict]
    return {"control_delta": round(a0, 3),
            "sample_delta": round(a0 * (1 - rnd.uniform(*rate) / 100), 3)}


def gold_raw(rnd: random.Random, verdict: str) -> dict:
    """T and C line intensities of a competitive strip giving ``verdict`` (cut-off T/C 1.0)."""
    c = rnd.uniform(0.6, 1.4)
    if verdict == "invalid":
        return {"t": round(rnd.uniform(0.2, 1.0), 3), "c": 0.0}
    ratio = rnd.uniform(0.15, 0.8) if verdict == "positive" else rnd.uniform(1.2, 1.8)
    return {"t": round(c * ratio, 3), "c": round(c, 3)}


def run(engine: sa.Engine, total: int, batch: int, *,
        progress: Callable[[int, int], None] | None = None, markets: int | None = None,
        instruments: int = 60) -> dict:
    """Ingest ``total`` new readings in batches, then re-send one batch (all duplicates).
    ``markets``/``instruments``: where each batch's readings come from (``readings``).

    Returns per-batch throughputs (results/s) for new readings and for the duplicate batch, and
    the new batches' CPU per reading (``cpu.per_reading``: this process's and PostgreSQL's).
    """
    tag = f"{time.time_ns():x}"
    batches = [readings(engine, min(batch, total - i), seed=i, tag=tag, markets=markets,
                        instruments=instruments)
               for i in range(0, total, batch)]
    with Session(engine) as s:
        cache = RefCache.load(s)
    rates = []
    done = 0
    meter = cpu.Meter(engine)
    for b in batches:
        with meter, Session(engine) as s:
            rep = accept_readings(session=s, actor=SYSTEM, readings=b, cache=cache)
            s.commit()
        rates.append(len(b) / meter.last.wall)
        assert rep.created == len(b), "bench readings must be new"
        done += len(b)
        if progress:
            progress(done, total)
    t = time.perf_counter()
    with Session(engine) as s:
        rep = accept_readings(session=s, actor=SYSTEM, readings=batches[0], cache=cache)
        s.commit()
    dup_rate = len(batches[0]) / (time.perf_counter() - t)
    assert rep.duplicates == len(batches[0])
    return {"rates": rates, "duplicate_rate": dup_rate,
            "cpu": cpu.per_reading(meter.total, done, cpu.writers(engine))}
