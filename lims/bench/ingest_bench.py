"""Bulk ingest through the real ingest service: verdict, calibration gate, idempotency, rollups."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from lims.bench.datagen import END, VENDORS_PER_MARKET
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Commodity, Market
from lims.reference.lookup import RefCache
from lims.security.auth import SYSTEM
from lims.timeutil import local_tz


def readings(engine: sa.Engine, n: int, *, seed: int = 1, tag: str = "") -> list[ReadingIn]:
    """``n`` enzyme/gold/lab readings at the benchmark's markets during the last week."""
    rnd = random.Random(seed)
    with engine.connect() as conn:
        markets = [r[0] for r in conn.execute(sa.select(Market.code)
                                              .where(Market.code.like("BM%")))]
        commodities = [r[0] for r in conn.execute(sa.select(Commodity.name_zh))]
    base = datetime(END.year, END.month, END.day, 8, tzinfo=local_tz()) - timedelta(days=6)
    out = []
    for i in range(n):
        at = base + timedelta(seconds=rnd.randrange(6 * 86400))
        common = {"tested_at": at, "market": rnd.choice(markets),
                  "vendor_stall": f"S{rnd.randrange(VENDORS_PER_MARKET):03d}",
                  "instrument_serial": f"BENCH-{rnd.randrange(60):03d}",
                  "ingest_key": f"ingest-{tag}-{seed}-{i}", "source": "import"}
        x = rnd.random()
        if x < 0.7:
            a0 = rnd.uniform(0.35, 0.6)
            out.append(ReadingIn(method="ENZ-5009.199", commodity=rnd.choice(commodities),
                                 raw={"control_delta": round(a0, 3),
                                      "sample_delta": round(a0 * rnd.uniform(0.2, 1), 3)},
                                 instrument_verdict=rnd.choice(["阴性", "阳性"]), **common))
        elif x < 0.9:
            out.append(ReadingIn(method="KJ-GOLD-CBF", commodity=rnd.choice(commodities),
                                 raw={"t": round(rnd.uniform(0, 2), 3), "c": 1.0}, **common))
        else:
            out.append(ReadingIn(method="LAB-GCMS", commodity="芹菜", analyte="毒死蜱",
                                 raw={"value": round(rnd.uniform(0, 0.1), 4)}, **common))
    return out


def run(engine: sa.Engine, total: int, batch: int, *,
        progress: Callable[[int, int], None] | None = None) -> dict:
    """Ingest ``total`` new readings in batches, then re-send one batch (all duplicates).

    Returns per-batch throughputs (results/s) for new readings and for the duplicate batch.
    """
    tag = f"{time.time_ns():x}"
    batches = [readings(engine, min(batch, total - i), seed=i, tag=tag)
               for i in range(0, total, batch)]
    with Session(engine) as s:
        cache = RefCache.load(s)
    rates = []
    done = 0
    for b in batches:
        t = time.perf_counter()
        with Session(engine) as s:
            rep = accept_readings(session=s, actor=SYSTEM, readings=b, cache=cache)
            s.commit()
        rates.append(len(b) / (time.perf_counter() - t))
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
    return {"rates": rates, "duplicate_rate": dup_rate}
