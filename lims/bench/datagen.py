"""Synthetic province-scale data for the benchmark, written with bulk SQL (not the ORM).

Markets and vendors scale with the result count (2 000 markets / 40 000 vendors at 10 M, 20 markets
per county); results spread over three years up to ``END``. Each chunk of results is built as numpy
columns and written with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL); the secondary indexes
of the two big tables are dropped during the load and rebuilt after it, then the rollups are
rebuilt with one aggregation (``lims.intake.rollups.rebuild``). Every sample has one result, which
counts in pass rates when its status does (``counts``/``count_date``/``count_week``, issue 16).

Results are sealed as the intake seals them (``lims.security.seals``, issue 18): each row's seal
is computed from the chunk's columns and goes in with the INSERT, and one ``result.seal`` audit
event per chunk chains the chunk's digest, so ``lims audit verify`` passes on a bench database.
The seals cost about 1.8 s per 200 000 results (json + SHA-256 per row, measured on 2 shared
cores; ~1.5 min at 10 M), next to the load's minutes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from lims.intake import rollups
from lims.models import (
    Analyte,
    CalibrationRecord,
    Commodity,
    Instrument,
    Market,
    Method,
    Threshold,
    Vendor,
)
from lims.reference.loader import load_reference_data
from lims.security import audit, seals
from lims.security.auth import SYSTEM
from lims.storage.schema import upgrade
from lims.timeutil import local_tz

END = date(2026, 11, 22)          # the last day with data (a Sunday)
DAYS = 3 * 364                    # three years of weeks
CHUNK = 100_000
MARKETS_PER_10M = 2000
VENDORS_PER_MARKET = 20
MARKETS_PER_COUNTY = 20
N_INSTRUMENTS = 60

# verdict mix per method kind: (verdicts, probabilities) — rapid screens mostly negative
MIX = {
    "enzyme_inhibition": (["negative", "positive", "suspicious", "invalid"], [.92, .04, .02, .02]),
    "test_card": (["negative", "positive", "invalid"], [.93, .05, .02]),
    "colloidal_gold": (["negative", "positive", "invalid"], [.94, .04, .02]),
    "lab_quantitative": (["compliant", "noncompliant"], [.9, .1]),
}
RAW = {  # one plausible raw reading per (kind, verdict); the bench does not re-judge them
    ("enzyme_inhibition", "negative"): {"control_delta": 0.45, "sample_delta": 0.41},
    ("enzyme_inhibition", "positive"): {"control_delta": 0.45, "sample_delta": 0.12},
    ("enzyme_inhibition", "suspicious"): {"control_delta": 0.45, "sample_delta": 0.25},
    ("enzyme_inhibition", "invalid"): {"control_delta": 0.12, "sample_delta": 0.10},
    ("test_card", "negative"): {"colour": "sky_blue"},
    ("test_card", "positive"): {"colour": "unchanged"},
    ("test_card", "invalid"): {"colour": "green"},
    ("colloidal_gold", "negative"): {"t": 1.4, "c": 1.1},
    ("colloidal_gold", "positive"): {"t": 0.3, "c": 1.1},
    ("colloidal_gold", "invalid"): {"t": 0.3, "c": 0.0},
    ("lab_quantitative", "compliant"): {"value": 0.01},
    ("lab_quantitative", "noncompliant"): {"value": 0.9},
}
STATUS = (["recorded", "held", "accepted", "voided"], [.95, .03, .01, .01])
METHOD_SHARE = {"ENZ-5009.199": .55, "ENZ-CARD": .12, "KJ-GOLD-CBF": .08, "KJ-GOLD-IMI": .08,
                "KJ-GOLD-ACE": .07, "LAB-GCMS": .05, "LAB-LCMS": .05}


@dataclass
class Scale:
    results: int
    markets: int
    vendors: int
    counties: int

    @classmethod
    def for_results(cls, n: int) -> Scale:
        markets = max(10, round(MARKETS_PER_10M * n / 10_000_000))
        return cls(n, markets, markets * VENDORS_PER_MARKET, max(2, markets // MARKETS_PER_COUNTY))


def county_name(i: int) -> str:
    return f"县{i:03d}"


def _days(d) -> np.ndarray:
    return np.datetime64(d, "D")


def _setup_places(session: Session, scale: Scale) -> tuple[np.ndarray, np.ndarray]:
    conn = session.connection()
    conn.execute(Market.__table__.insert(), [
        {"code": f"BM{i:05d}", "name": f"基准市场{i:05d}", "county": county_name(i % scale.counties),
         "township": "", "kind": "farmers"} for i in range(scale.markets)])
    market_ids = np.array([r[0] for r in conn.execute(
        sa.select(Market.id).where(Market.code.like("BM%")).order_by(Market.code))])
    conn.execute(Vendor.__table__.insert(), [
        {"market_id": int(m), "stall": f"S{j:03d}", "name": "", "licence_no": "",
         "credit_grade": "B"} for m in market_ids for j in range(VENDORS_PER_MARKET)])
    vendor_ids = np.array([r[0] for r in conn.execute(
        sa.select(Vendor.id).where(Vendor.market_id.in_(sa.select(Market.id).where(
            Market.code.like("BM%")))).order_by(Vendor.market_id, Vendor.stall))])
    insts = [{"serial_no": f"BENCH-{i:03d}", "model": "RP-12", "kind": "pesticide_analyzer",
              "driver": "profile", "port_settings": {}, "location": "", "calibration_interval_days": 365,
              "active": True} for i in range(N_INSTRUMENTS)]
    conn.execute(Instrument.__table__.insert(), insts)
    ids = [r[0] for r in conn.execute(sa.select(Instrument.id).where(
        Instrument.serial_no.like("BENCH-%")))]
    at = datetime.combine(END - timedelta(days=DAYS + 30), datetime.min.time(), tzinfo=UTC)
    conn.execute(CalibrationRecord.__table__.insert(), [
        {"instrument_id": i, "kind": "verification", "performed_at": at, "performed_by": "bench",
         "standard": "", "reference_equipment": "", "readings": {}, "outcome": "pass",
         "report": {}, "due_date": END + timedelta(days=3650), "notes": ""} for i in ids])
    return market_ids, vendor_ids


@dataclass
class _Ref:
    method_ids: np.ndarray
    method_kinds: list[str]
    method_analyte: np.ndarray        # analyte id of a kit, 0 for none
    method_p: np.ndarray
    commodity_ids: np.ndarray
    lab_pairs: np.ndarray             # (analyte_id, commodity_id) with an MRL
    instrument_ids: np.ndarray


def _reference(session: Session) -> _Ref:
    conn = session.connection()
    methods = {r.code: r for r in conn.execute(sa.select(Method.__table__))}
    codes = [c for c in METHOD_SHARE if c in methods]
    p = np.array([METHOD_SHARE[c] for c in codes])
    pairs = np.array([(a, c) for a, c in conn.execute(
        sa.select(Threshold.analyte_id, Threshold.commodity_id)
        .where(Threshold.commodity_id.is_not(None)).distinct()
        .order_by(Threshold.analyte_id, Threshold.commodity_id))])
    if not len(pairs):
        a = conn.execute(sa.select(Analyte.id)).scalar()
        pairs = np.array([(a, conn.execute(sa.select(Commodity.id)).scalar())])
    return _Ref(
        method_ids=np.array([methods[c].id for c in codes]),
        method_kinds=[methods[c].kind for c in codes],
        method_analyte=np.array([methods[c].analyte_id or 0 for c in codes]),
        method_p=p / p.sum(),
        commodity_ids=np.array([r[0] for r in conn.execute(
            sa.select(Commodity.id).order_by(Commodity.name_en))]),
        lab_pairs=pairs,
        instrument_ids=np.array([r[0] for r in conn.execute(
            sa.select(Instrument.id).where(Instrument.serial_no.like("BENCH-%"))
            .order_by(Instrument.serial_no))]),
    )


def _chunk(rng: np.random.Generator, start: int, m: int, ref: _Ref, market_ids: np.ndarray,
           vendor_ids: np.ndarray) -> tuple[dict[str, list], dict[str, list]]:
    """Columns of ``m`` samples and results with ids start+1 … start+m."""
    ids = np.arange(start + 1, start + m + 1)
    day = _days(END) - rng.integers(0, DAYS, m).astype("timedelta64[D]")
    weekday = (day.astype(np.int64) + 3) % 7                       # 1970-01-01 was a Thursday
    week = day - weekday.astype("timedelta64[D]")
    secs = rng.integers(7 * 3600, 18 * 3600, m).astype("timedelta64[s]")
    offset = local_tz().utcoffset(datetime.combine(END, datetime.min.time()))  # local → UTC
    tested = day.astype("datetime64[s]") + secs - np.timedelta64(int(offset.total_seconds()), "s")
    tested_txt = np.char.replace(np.datetime_as_string(tested, unit="us"), "T", " ")
    mi = rng.integers(0, len(market_ids), m)
    market = market_ids[mi]
    vendor = vendor_ids[mi * VENDORS_PER_MARKET + rng.integers(0, VENDORS_PER_MARKET, m)]
    meth_i = rng.choice(len(ref.method_ids), m, p=ref.method_p)
    commodity = ref.commodity_ids[rng.integers(0, len(ref.commodity_ids), m)]
    analyte = ref.method_analyte[meth_i].copy()
    verdict = np.empty(m, dtype=object)
    raw = np.empty(m, dtype=object)
    raw_obj = np.empty(m, dtype=object)       # the same values as dicts, for the seals
    for k, kind in enumerate(ref.method_kinds):
        sel = meth_i == k
        n = int(sel.sum())
        if not n:
            continue
        words, p = MIX[kind]
        v = rng.choice(len(words), n, p=p)
        verdict[sel] = np.array(words, dtype=object)[v]
        raw[sel] = np.array([json.dumps(RAW[(kind, w)]) for w in words], dtype=object)[v]
        raw_obj[sel] = np.array([RAW[(kind, w)] for w in words] + [None], dtype=object)[v]
        if kind == "lab_quantitative":
            pair = ref.lab_pairs[rng.integers(0, len(ref.lab_pairs), n)]
            analyte[sel] = pair[:, 0]
            commodity[sel] = pair[:, 1]
    status = np.array(STATUS[0], dtype=object)[rng.choice(4, m, p=STATUS[1])]
    inst = ref.instrument_ids[rng.integers(0, len(ref.instrument_ids), m)]
    day_txt = np.datetime_as_string(day, unit="D")
    week_txt = np.datetime_as_string(week, unit="D")
    id_list = ids.tolist()
    samples = {
        "id": id_list, "uuid": [f"00000000-0000-4000-8000-{i:012d}" for i in id_list],
        "code": [f"B{i:011d}" for i in id_list], "market_id": market.tolist(),
        "vendor_id": vendor.tolist(), "resident_purchase": [False] * m,
        "commodity_id": commodity.tolist(), "taken_at": tested_txt.tolist(),
        "taken_by": ["bench"] * m, "event_id": [None] * m,
    }
    analyte_l = [a or None for a in analyte.tolist()]
    # one result per sample: it counts (issue 16) when its status does, on its own day
    counts = np.isin(status, ("recorded", "accepted"))
    counts_l = counts.tolist()
    count_day = np.where(counts, day_txt, None).tolist()
    count_wk = np.where(counts, week_txt, None).tolist()
    results = {
        "id": id_list, "sample_id": id_list, "method_id": ref.method_ids[meth_i].tolist(),
        "analyte_id": analyte_l, "instrument_id": inst.tolist(), "channel": [None] * m,
        "tested_at": tested_txt.tolist(), "tested_by": ["bench"] * m, "raw": raw.tolist(),
        "computed_value": [None] * m, "computed_unit": [None] * m, "verdict": verdict.tolist(),
        "verdict_reasons": ["[]"] * m, "instrument_verdict": [None] * m,
        "verdict_mismatch": [False] * m, "threshold_id": [None] * m, "status": status.tolist(),
        "calibration_state": ["ok"] * m, "retest_of_id": [None] * m, "source": ["bench"] * m,
        "ingest_key": [f"bench-{i:012d}" for i in id_list], "market_id": market.tolist(),
        "vendor_id": vendor.tolist(), "commodity_id": commodity.tolist(), "local_date": day_txt.tolist(),
        "week_start": week_txt.tolist(), "created_at": tested_txt.tolist(),
        "counts": counts_l, "count_date": count_day, "count_week": count_wk,
    }
    # the seal of each row, from the values the database gives back (seals.SEALED order;
    # tested_at as the UTC ISO text seals.content_hash makes of a stored time)
    tested_iso = [t + "+00:00" for t in np.datetime_as_string(tested, unit="s").tolist()]
    results["seal"] = [
        seals.content_hash((i, mid, a, ins, None, ts, rw, None, None, vd, None, st))
        for i, mid, a, ins, ts, rw, vd, st in zip(
            id_list, results["method_id"], analyte_l, results["instrument_id"], tested_iso,
            raw_obj.tolist(), results["verdict"], results["status"], strict=True)]
    return samples, results


# --------------------------------------------------------------------------- backend writers

def _secondary_indexes(conn: sa.Connection, table: str) -> list[tuple[str, str]]:
    if conn.dialect.name == "sqlite":
        return [(n, s) for n, s in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name=? "
            "AND sql IS NOT NULL", (table,))]
    return [(n, s) for n, s in conn.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint)"), {"t": table})]


def _write_sqlite(dbapi, table: str, cols: dict[str, list]) -> None:
    names = list(cols)
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    dbapi.executemany(sql, zip(*cols.values(), strict=True))


def _write_pg(dbapi, table: str, cols: dict[str, list]) -> None:
    buf = io.StringIO()
    import csv

    w = csv.writer(buf)
    for row in zip(*cols.values(), strict=True):
        w.writerow(["" if v is None else ("t" if v is True else "f" if v is False else
                                          (v + "+00" if isinstance(v, str) and len(v) == 26
                                           and v[10] == " " else v)) for v in row])
    with dbapi.cursor() as cur, cur.copy(
            f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)") as cp:
        cp.write(buf.getvalue())


def generate(engine: sa.Engine, n: int, *, seed: int = 8,
             progress: Callable[[str, int, int], None] | None = None) -> Scale:
    """Create the schema and fill it with ``n`` results (the database must be empty)."""
    progress = progress or (lambda *_: None)
    scale = Scale.for_results(n)
    upgrade(engine)
    with Session(engine) as s:
        load_reference_data(session=s)
        market_ids, vendor_ids = _setup_places(s, scale)
        ref = _reference(s)
        s.commit()
    rng = np.random.default_rng(seed)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        dropped = []
        for table in ("test_result", "sample"):
            for name, ddl in _secondary_indexes(conn, table):
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
                dropped.append(ddl)
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        if pg:
            dbapi.execute("SET session_replication_role = replica")  # no FK triggers in the load
        else:
            dbapi.execute("PRAGMA foreign_keys=OFF")
            dbapi.execute("PRAGMA synchronous=OFF")
        write = _write_pg if pg else _write_sqlite
        done = 0
        batches = []   # one seal event per chunk: its ids and digest (small)
        while done < n:
            m = min(CHUNK, n - done)
            samples, results = _chunk(rng, done, m, ref, market_ids, vendor_ids)
            write(dbapi, "sample", samples)
            write(dbapi, "test_result", results)
            dbapi.commit()
            batches.append(seals._batch_event(results["id"], results["seal"]))
            done += m
            progress("results", done, n)
        if pg:
            dbapi.execute("SET session_replication_role = origin")
            for t in ("sample", "test_result"):
                dbapi.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                              f"(SELECT max(id) FROM {t}))")
            dbapi.commit()
    finally:
        raw.close()
    for i, ddl in enumerate(dropped, start=1):
        with engine.begin() as conn:
            conn.exec_driver_sql(ddl)
        progress("indexes", i, len(dropped))
    with Session(engine) as s:   # chain the seals, as seals.record_batch does per stored batch
        for b in batches:
            audit.record(session=s, actor=SYSTEM, action=seals.SEAL_ACTION,
                         entity=seals.SEAL_ENTITY, entity_id=f"{b['ids'][0][0]}-{b['ids'][-1][1]}",
                         new=b)
        rollups.rebuild(session=s, recount=False)   # the flags were written exactly
        s.commit()
    progress("rollups", 1, 1)
    grade_all(engine)
    progress("grades", 1, 1)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return scale


def grade_all(engine: sa.Engine, *, unless_graded: bool = False) -> None:
    """Grade every vendor once, as the intake grades a vendor at its first result: a real
    database has a grade history row for every vendor with results, and the ingest bench should
    meet that, not a first grading of every stall it touches. ``unless_graded``: not when any
    vendor has a grade history already (a reused benchmark database)."""
    from lims.enforcement.grades import recompute_grades
    from lims.models import VendorGradeHistory

    with Session(engine) as s:
        if unless_graded and s.execute(sa.select(VendorGradeHistory.id).limit(1)).first():
            return
        recompute_grades(session=s, actor=SYSTEM)
        s.commit()


def counties(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(Market.county).distinct()
                                           .where(Market.code.like("BM%")).order_by(Market.county))]


__all__ = ["END", "Scale", "counties", "generate"]
