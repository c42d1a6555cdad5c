"""The dashboard queries, timed through the real services, and the same queries in DuckDB.

DuckDB gets the same rows: the columns the queries need are copied out of the benchmark database
(SQLite: read in chunks; PostgreSQL: ``COPY … TO STDOUT``) into an in-memory DuckDB table, then
the reference queries aggregate the raw results (DuckDB has no rollups).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from lims.bench.datagen import END
from lims.reporting import stats

#: the results that count (one per sample, issue 16), under the sample's week and day: DuckDB's
#: ``tr`` calls them week_start and local_date
COLUMNS = ("market_id, count_week, count_date, status, verdict, commodity_id, analyte_id "
           "FROM test_result WHERE counts")


def summarize(times: list[float]) -> tuple[float, float]:
    """(median, p95) of a list of durations."""
    return statistics.median(times), float(np.percentile(times, 95))


def repeat(fn: Callable[[], object], n: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


@dataclass(frozen=True)
class QuerySpec:
    key: str
    label: str
    run: Callable[[Session], object]      # our service call
    duck_sql: str                         # the same question for DuckDB, on raw results
    duck_params: tuple = ()


def specs(county: str) -> list[QuerySpec]:
    two_years = (END - timedelta(days=729), END)
    one_year = (END - timedelta(days=364), END)
    counted = "status IN ('recorded','accepted')"
    trend_sql = (
        "SELECT market_id, week_start, "
        "sum(CASE WHEN verdict IN ('negative','compliant') THEN 1 ELSE 0 END), "
        "sum(CASE WHEN verdict IN ('positive','noncompliant','suspicious') THEN 1 ELSE 0 END) "
        f"FROM tr WHERE {counted} AND local_date BETWEEN ? AND ? {{extra}} "
        "GROUP BY market_id, week_start ORDER BY market_id, week_start")
    in_county = "AND market_id IN (SELECT id FROM market WHERE county = ?)"

    def trend(f):
        return lambda s: stats.pass_rate_by_market_week(session=s, filters=f)

    f_county = stats.TrendFilter(county=county, start=two_years[0], end=two_years[1])
    f_all = stats.TrendFilter(start=two_years[0], end=two_years[1])
    f_year = stats.TrendFilter(start=one_year[0], end=one_year[1])
    return [
        QuerySpec("trend_county", "trend: one county × 2 years", trend(f_county),
                  trend_sql.format(extra=in_county), (*two_years, county)),
        QuerySpec("trend_all", "trend: all markets × 2 years", trend(f_all),
                  trend_sql.format(extra=""), two_years),
        QuerySpec("heatmap", "heatmap: all markets × 52 weeks",
                  lambda s: stats.heatmap(session=s, filters=f_year),
                  trend_sql.format(extra=""), one_year),
        QuerySpec("breakdown", "commodity × analyte: province × 52 weeks",
                  lambda s: stats.commodity_analyte_breakdown(session=s, filters=f_year),
                  "SELECT commodity_id, coalesce(analyte_id, 0), "
                  "sum(CASE WHEN verdict IN ('negative','compliant') THEN 1 ELSE 0 END), "
                  "sum(CASE WHEN verdict IN ('positive','noncompliant','suspicious') THEN 1 "
                  "ELSE 0 END), sum(CASE WHEN verdict = 'invalid' THEN 1 ELSE 0 END) "
                  f"FROM tr WHERE {counted} AND week_start BETWEEN ? AND ? GROUP BY 1, 2",
                  (one_year[0] - timedelta(days=one_year[0].weekday()), END)),
    ]


def baseline(county: str) -> list[QuerySpec]:
    """The foundation's query shape (GROUP BY over the results table), for comparison."""
    out = []
    for q in specs(county)[:2]:
        f = (stats.TrendFilter(county=county, start=END - timedelta(days=729), end=END)
             if q.key == "trend_county" else
             stats.TrendFilter(start=END - timedelta(days=729), end=END))
        out.append(QuerySpec(q.key + "_base", q.label + " (no rollup)",
                             lambda s, f=f: stats._rows_from_base(s.connection(), f),
                             q.duck_sql, q.duck_params))
    return out


def time_ours(engine: sa.Engine, spec: QuerySpec, n: int) -> list[float]:
    with Session(engine) as s:
        s.connection()
        return repeat(lambda: spec.run(s), n)


# ------------------------------------------------------------------------------------ DuckDB

def duck_load(engine: sa.Engine):
    """An in-memory DuckDB holding the benchmark's results (the query columns) and markets."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE tr (market_id INTEGER, week_start DATE, local_date DATE, "
                "status VARCHAR, verdict VARCHAR, commodity_id INTEGER, analyte_id INTEGER)")
    con.execute("CREATE TABLE market (id INTEGER, county VARCHAR)")
    if engine.dialect.name == "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            for table, sql in (("tr", f"SELECT {COLUMNS}"),
                               ("market", "SELECT id, county FROM market")):
                path = Path(tmp) / f"{table}.csv"
                raw = engine.raw_connection()
                try:
                    with raw.driver_connection.cursor() as cur, path.open("wb") as fh, \
                            cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as cp:
                        for block in cp:
                            fh.write(block)
                finally:
                    raw.close()
                con.execute(f"INSERT INTO {table} SELECT * FROM read_csv(?, header=false, "
                            "nullstr='')", [str(path)])
    else:
        import pandas as pd

        raw = engine.raw_connection()
        try:
            for table, sql in (("tr", f"SELECT {COLUMNS}"),
                               ("market", "SELECT id, county FROM market")):
                for chunk in pd.read_sql_query(sql, raw.driver_connection, chunksize=500_000):
                    con.register("chunk", chunk)
                    con.execute(f"INSERT INTO {table} SELECT * FROM chunk")
                    con.unregister("chunk")
        finally:
            raw.close()
    return con


def time_duck(con, spec: QuerySpec, n: int) -> list[float]:
    params = [p.isoformat() if isinstance(p, date) else p for p in spec.duck_params]
    return repeat(lambda: con.execute(spec.duck_sql, params).fetchall(), n)
