"""Runs the benchmark on each backend and collects one row per measured figure."""

from __future__ import annotations

import json
import os
import platform
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from datetime import time as dt_time
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from lims.bench import (
    api_bench,
    cpu,
    datagen,
    import_bench,
    ingest_bench,
    memory,
    queries,
    serial_bench,
)
from lims.storage.engine import make_engine
from lims.storage.schema import upgrade
from lims.timeutil import local_tz


@dataclass
class Row:
    backend: str
    figure: str
    unit: str
    median: float
    p95: float | None = None
    duckdb: float | None = None      # DuckDB's median for the same question
    target: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.median / self.duckdb if self.duckdb else None


@dataclass
class Options:
    results: int = 1_000_000
    backends: tuple[str, ...] = ("sqlite",)
    postgres_url: str | None = None
    repeat: int = 7
    ingest: int = 20_000
    ingest_batch: int = 5_000
    latency_messages: int = 200
    api_readings: int = 20_000     # POST /api/v1/readings, batches of 1 000
    push_results: int = 100_000    # a station's lims sync push
    codec_messages: int = 1000
    import_rows: int = 20_000      # lims results import of a generated CSV (SQLite, a child)
    grading: bool = True           # every vendor graded as of the data's end
    duckdb: bool = True
    baseline: bool = True
    reuse: bool = True
    keep: bool = True
    workdir: Path = Path("var/bench")


@dataclass
class Report:
    options: dict
    started: str
    host: dict
    scale: dict = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"options": self.options, "started": self.started, "host": self.host,
                "scale": self.scale, "notes": self.notes,
                "rows": [{**asdict(r), "ratio": r.ratio} for r in self.rows]}


Progress = Callable[[str, int, int], None]


def _host() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (None, None, None)
    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in load]}


# ------------------------------------------------------------------------------- databases

def _sqlite_db(opts: Options, progress: Progress) -> tuple[sa.Engine, str, bool]:
    opts.workdir.mkdir(parents=True, exist_ok=True)
    path = (opts.workdir / f"bench-{opts.results}.sqlite3").resolve()
    done = path.with_suffix(".done")
    if not (opts.reuse and path.exists() and done.exists()):
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
                  done):
            p.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        datagen.generate(engine, opts.results, progress=progress)
        done.write_text(str(opts.results))
        return engine, url, False
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)  # migrations added since it was generated
    datagen.grade_all(engine, unless_graded=True)   # (built before generate graded vendors)
    return engine, url, True


def _pg_db(opts: Options, progress: Progress) -> tuple[sa.Engine, str, bool]:
    if not opts.postgres_url:
        raise ValueError("--backend postgres needs --postgres-url or LIMS_TEST_POSTGRES_URL")
    admin = sa.create_engine(opts.postgres_url, isolation_level="AUTOCOMMIT")
    name = f"lims_bench_{opts.results}"
    url = sa.engine.make_url(opts.postgres_url).set(database=name).render_as_string(
        hide_password=False)
    try:
        with admin.connect() as c:
            exists = c.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                               {"n": name}).scalar() is not None
            ready = False
            if exists and opts.reuse:
                eng = make_engine(url)
                try:
                    with eng.connect() as ec:
                        ready = ec.execute(sa.text(
                            "SELECT obj_description('test_result'::regclass, 'pg_class')")
                        ).scalar() == f"bench {opts.results}"
                except sa.exc.DBAPIError:
                    ready = False
                eng.dispose()
            if ready:
                engine = make_engine(url)
                upgrade(engine)  # migrations added since it was generated
                datagen.grade_all(engine, unless_graded=True)
                return engine, url, True
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    engine = make_engine(url)
    datagen.generate(engine, opts.results, progress=progress)
    with engine.begin() as c:
        c.execute(sa.text(f"COMMENT ON TABLE test_result IS 'bench {opts.results}'"))
    return engine, url, False


def _drop_pg(opts: Options) -> None:
    admin = sa.create_engine(opts.postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "lims_bench_{opts.results}" WITH (FORCE)'))
    admin.dispose()


# ------------------------------------------------------------------------------- the run

# the second ingest row: batches as one county's stations send them (docs/performance.md,
# "Where a batch's writes go")
LOCAL_MARKETS, LOCAL_INSTRUMENTS = 20, 3


def _ms(xs: list[float]) -> tuple[float, float]:
    med, p95 = queries.summarize(xs)
    return med * 1000, p95 * 1000


def _grading(engine: sa.Engine, runs: int) -> tuple[list[float], int]:
    """Seconds to grade every vendor as of the data's last day, per run; and how many."""
    from lims.enforcement.grades import grades_as_of

    at = datetime.combine(datagen.END, dt_time(20), tzinfo=local_tz())
    secs, vendors = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        with Session(engine) as s:
            vendors = len(grades_as_of(session=s, at=at))
        secs.append(time.perf_counter() - t)
    return secs, vendors


def run_backend(backend: str, opts: Options, report: Report, progress: Progress) -> None:
    t0 = time.perf_counter()
    engine, url, reused = (_sqlite_db if backend == "sqlite" else _pg_db)(opts, progress)
    report.notes.append(f"{backend}: data {'reused' if reused else 'generated'} "
                        f"in {time.perf_counter() - t0:.0f} s")
    scale = datagen.Scale.for_results(opts.results)
    report.scale = asdict(scale)
    county = datagen.counties(engine)[0]
    add = report.rows.append
    try:
        duck = queries.duck_load(engine) if opts.duckdb else None
        specs = queries.specs(county)
        for i, spec in enumerate(specs, start=1):
            med, p95 = _ms(queries.time_ours(engine, spec, opts.repeat))
            dmed = _ms(queries.time_duck(duck, spec, opts.repeat))[0] if duck else None
            add(Row(backend, spec.label, "ms", med, p95, dmed, "p50 < 300 ms, ≤ 3× DuckDB"))
            progress("queries", i, len(specs))
        if opts.baseline:
            for spec in queries.baseline(county):
                if spec.key == "trend_all_base" and opts.results > 2_000_000:
                    report.notes.append(f"{backend}: all-market trend without rollups not timed "
                                        "above 2 M results (minutes per run)")
                    continue
                med, p95 = _ms(queries.time_ours(engine, spec, 3))
                add(Row(backend, spec.label, "ms", med, p95, None, "",
                        "the same GROUP BY over test_result, for comparison"))
        if duck is not None:
            duck.close()
        if opts.grading:
            secs, vendors = _grading(engine, min(opts.repeat, 3))
            add(Row(backend, "grade every vendor", "s", float(np.median(secs)), max(secs), None,
                    "", f"{vendors:,} vendors, each over its 365-day window, as of the data's "
                        "end (nothing written: lims grades recompute --at); recompute reads "
                        "the same; p95 column: slowest run"))
            progress("grading", 1, 1)
        if opts.ingest:
            res = ingest_bench.run(engine, opts.ingest, opts.ingest_batch,
                                   progress=lambda d, n: progress("ingest", d, n))
            rates = res["rates"]
            add(Row(backend, f"ingest, batches of {opts.ingest_batch}", "results/s",
                    float(np.median(rates)), float(np.percentile(rates, 5)), None,
                    "≥ 20 000 results/s (SQLite)", "p95 column: 5th percentile (slow batch)"))
            add(_cpu_row(backend, f"CPU per reading, batches of {opts.ingest_batch}", res["cpu"],
                         "this process"))
            add(Row(backend, "ingest, a batch re-sent (all duplicates)", "results/s",
                    res["duplicate_rate"], None, None, "", "idempotency check path"))
            local = min(LOCAL_MARKETS, scale.markets)
            res = ingest_bench.run(engine, opts.ingest, opts.ingest_batch, markets=local,
                                   instruments=LOCAL_INSTRUMENTS,
                                   progress=lambda d, n: progress("ingest, county", d, n))
            rates = res["rates"]
            add(Row(backend, f"ingest, batches of {opts.ingest_batch} from {local} markets",
                    "results/s", float(np.median(rates)), float(np.percentile(rates, 5)), None,
                    "", f"as one county's stations send them: {local} markets and "
                        f"{LOCAL_INSTRUMENTS} instruments per batch (the row above: every "
                        "market, 60 instruments); p95 column: 5th percentile"))
            add(_cpu_row(backend, f"CPU per reading, batches of {opts.ingest_batch} from {local} "
                         "markets", res["cpu"], "this process"))
        if opts.api_readings:
            res = api_bench.api_upload(engine, opts.api_readings)
            add(Row(backend, "API upload, POST /api/v1/readings × 1 000", "readings/s",
                    float(np.median(res["rates"])), float(np.percentile(res["rates"], 5)), None,
                    "≥ 20 000 readings/s (PostgreSQL)",
                    "uvicorn on loopback, JSON over HTTP, the whole pipeline; p95 column: 5th "
                    "percentile"))
            add(_cpu_row(backend, "CPU per reading, API upload × 1 000", res["cpu"],
                         "the server thread and its client"))
            progress("api", 1, 1)
            workers = max(2, min(os.cpu_count() or 1, 8))
            local = min(LOCAL_MARKETS, scale.markets)
            res = api_bench.api_upload_parallel(engine, opts.api_readings, stations=2 * workers,
                                                workers=workers, markets=local,
                                                instruments=LOCAL_INSTRUMENTS)
            add(Row(backend, f"API upload, {2 * workers} stations at once to {workers} workers",
                    "readings/s", res["rate"], None, None, "≥ 20 000 readings/s (PostgreSQL)",
                    f"aggregate (all readings ÷ first request to last answer) of lims api serve "
                    f"--workers {workers} on this {os.cpu_count()}-CPU host, batches of 1 000, "
                    f"each station one county ({local} markets); median request "
                    f"{float(np.median(res['rates'])):,.0f} readings/s" + _busy(res)))
            progress("api, parallel", 1, 1)
        if opts.push_results:
            res = api_bench.station_push(engine, opts.push_results)
            add(Row(backend, f"station push of {opts.push_results:,} results", "s",
                    res["seconds"], None, None, "",
                    f"lims sync push in batches of 500 to this server: {res['rate']:,.0f} "
                    "results/s"))
            progress("push", 1, 1)
        if opts.latency_messages:
            try:
                lat = serial_bench.listener_latency(engine, opts.latency_messages,
                                                    market="BM00001")
            except ImportError:  # no listener service in this tree: the bench's own path
                lat = serial_bench.pty_latency(engine, opts.latency_messages, market="BM00001")
            xs = np.array(lat.latencies) * 1000
            add(Row(backend, "serial frame → committed row", "ms", float(np.median(xs)),
                    float(np.percentile(xs, 99)), None, "p99 < 50 ms",
                    f"p95 column is p99; {lat.path}" + (f"; {lat.details}" if lat.details else "")))
            progress("latency", 1, 1)
        mem = memory.dashboard_peak_rss(url, datagen.END)
        add(Row(backend, "dashboard data path, peak RSS", "MB", mem["peak_mb"], None, None,
                "< 500 MB", f"{mem['before_mb']:.0f} MB after imports; trend rows "
                            f"{mem['trend_rows']}, heatmap cells {mem['heatmap_cells']}"))
        progress("memory", 1, 1)
    finally:
        engine.dispose()
        if backend == "postgres" and not opts.keep:
            _drop_pg(opts)


def _cpu_row(backend: str, figure: str, c: dict, what: str) -> Row:
    return Row(backend, figure, "µs", c["cpu_us"], None, None, cpu.target(c),
               cpu.note(c, what))


def _busy(res: dict) -> str:
    out = "" if res["busy"] is None else f"; the cores {res['busy']:.0%} busy meanwhile"
    spent = [f"{who} {res[k]:,.0f} µs" for who, k in (("the workers", "workers_us"),
                                                     ("PostgreSQL", "server_us"))
             if res[k] is not None]
    return out + (f"; CPU per reading: {', '.join(spent)}" if spent else "")


def run_codecs(opts: Options, report: Report, progress: Progress) -> None:
    targets = serial_bench.codec_targets()
    for i, (label, driver, profile) in enumerate(targets, start=1):
        data, decoded = serial_bench.transcript(driver, profile, opts.codec_messages)
        rates, cpu = serial_bench.codec_rates(driver, profile, data, opts.repeat)
        med, p5 = float(np.median(rates)), float(np.percentile(rates, 5))
        rate = serial_bench.line_rate(serial_bench.port_defaults(driver, profile))
        report.rows.append(Row("-", f"codec {label}", "× line rate", med / rate, p5 / rate, None,
                               "≥ 1 000× line rate",
                               f"{med / 1e6:.2f} MB/s; line {rate:.0f} B/s; {len(data)} bytes, "
                               f"{decoded} readings; p95 column: 5th percentile; by CPU time "
                               f"{float(np.median(cpu)) / rate:,.0f}× (the wall clock counts "
                               "other processes' share of the cores)"))
        progress("codecs", i, len(targets))


def run_import(opts: Options, report: Report, progress: Progress) -> None:
    """The file import (issue 18): rows/s, peak memory and the publish (its one write
    transaction) of a generated CSV imported into a fresh SQLite file by a child process."""
    got = import_bench.run(opts.import_rows)
    report.rows.append(Row("sqlite", f"import of a {got['file_mb']:.1f} MB CSV "
                           f"({got['rows']:,} rows)", "rows/s", got["rows_per_s"], None, None,
                           "< 500 MB at any size",
                           f"peak RSS {got['peak_mb']:.0f} MB; {got['seconds']:.0f} s in all; "
                           f"publish (one transaction) {got.get('publish_s') or 0:.1f} s"))
    progress("import", 1, 1)


def run(opts: Options, progress: Progress | None = None) -> Report:
    progress = progress or (lambda *_: None)
    report = Report(options={k: str(v) for k, v in asdict(opts).items() if k != "postgres_url"},
                    started=datetime.now(UTC).isoformat(timespec="seconds"), host=_host())
    report.notes.append(f"run id {uuid.uuid4().hex[:8]}")
    for backend in opts.backends:
        run_backend(backend, opts, report, progress)
    run_codecs(opts, report, progress)
    if opts.import_rows:
        run_import(opts, report, progress)
    report.host["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def markdown(report: Report) -> str:
    lines = [f"Run {report.started} · {report.scale.get('results', 0):,} results, "
             f"{report.scale.get('markets', 0):,} markets, {report.scale.get('vendors', 0):,} "
             f"vendors · load average {report.host.get('loadavg_at_start')} → "
             f"{report.host.get('loadavg_at_end')} on {report.host.get('cpus')} CPUs", "",
             "| backend | figure | median | p95 | unit | DuckDB | ratio | target | note |",
             "|---|---|---:|---:|---|---:|---:|---|---|"]
    for r in report.rows:
        lines.append(f"| {r.backend} | {r.figure} | {fmt(r.median)} | {fmt(r.p95)} | {r.unit} | "
                     f"{fmt(r.duckdb)} | {fmt(r.ratio, 2)} | {r.target} | {r.note} |")
    return "\n".join(lines) + "\n"


def fmt(x: float | None, digits: int | None = None) -> str:
    if x is None:
        return ""
    if digits is not None:
        return f"{x:.{digits}f}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}"


def dump_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)
