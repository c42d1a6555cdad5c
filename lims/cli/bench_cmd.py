"""`lims bench`: the province-scale benchmark (issue 8, docs/performance.md)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from lims.cli.common import emit_json, handle_errors
from lims.files.output import write_output


@handle_errors
def bench(
    results: int = typer.Option(1_000_000, "--results", min=1_000,
                                help="How many test results to generate (markets and vendors "
                                     "scale with it: 2 000 / 40 000 at 10 000 000)."),
    backend: str = typer.Option("sqlite", "--backend", help="sqlite, postgres or both."),
    postgres_url: str | None = typer.Option(
        None, "--postgres-url", help="PostgreSQL server (default LIMS_TEST_POSTGRES_URL); the "
                                     "bench creates its own database lims_bench_<N> there."),
    repeat: int = typer.Option(7, "--repeat", min=1, help="Timed runs per figure."),
    ingest: int = typer.Option(20_000, "--ingest", min=0,
                               help="Readings to ingest for the throughput figure (0: skip)."),
    ingest_batch: int = typer.Option(5_000, "--ingest-batch", min=1, help="Readings per batch."),
    latency: int = typer.Option(200, "--latency", min=0,
                                help="Messages sent over the pty for the latency figure (0: skip)."),
    api_readings: int = typer.Option(20_000, "--api", min=0,
                                     help="Readings POSTed to the API for its figure (0: skip)."),
    push_results: int = typer.Option(100_000, "--push", min=0,
                                     help="Results a station pushes for its figure (0: skip)."),
    codec_messages: int = typer.Option(1000, "--codec-messages", min=1,
                                       help="Messages per driver for the codec figures."),
    import_rows: int = typer.Option(20_000, "--import-rows", min=0,
                                    help="Rows of the generated CSV imported for the file-import "
                                         "figure (0: skip; 550000 makes the 50 MB file)."),
    grading: bool = typer.Option(True, "--grading/--no-grading",
                                 help="Time grading every vendor as of the data's end."),
    duckdb: bool = typer.Option(True, "--duckdb/--no-duckdb",
                                help="Run the same queries in DuckDB for the ratio."),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline",
                                  help="Also time the trend straight from test_result."),
    reuse: bool = typer.Option(True, "--reuse/--fresh",
                               help="Reuse a generated database of the same size."),
    keep: bool = typer.Option(True, "--keep/--drop", help="Keep the PostgreSQL bench database."),
    workdir: Path = typer.Option(Path("var/bench"), "--workdir", help="Where SQLite files go."),
    markdown_out: Path | None = typer.Option(None, "--markdown",
                                             help="Also write the table as Markdown here."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    pages: bool = typer.Option(False, "--pages",
                               help="Instead: time every page of the app in headless Chromium "
                                    "(click → settled) on the bench database."),
) -> None:
    """Generate data at a chosen scale and print median/p95 of each figure, with DuckDB ratios."""
    if pages:
        _pages(results, backend, postgres_url, repeat, reuse, keep, workdir, markdown_out,
               as_json)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from lims.bench import runner

    backends = {"sqlite": ("sqlite",), "postgres": ("postgres",),
                "both": ("sqlite", "postgres")}.get(backend)
    if backends is None:
        raise ValueError(f"--backend must be sqlite, postgres or both, not {backend!r}")
    opts = runner.Options(results=results, backends=backends,
                          postgres_url=postgres_url or os.environ.get("LIMS_TEST_POSTGRES_URL"),
                          repeat=repeat, ingest=ingest, ingest_batch=ingest_batch,
                          latency_messages=latency, codec_messages=codec_messages,
                          api_readings=api_readings, push_results=push_results,
                          import_rows=import_rows, duckdb=duckdb, baseline=baseline,
                          reuse=reuse, keep=keep, workdir=workdir, grading=grading)
    if "postgres" in backends and not opts.postgres_url:
        raise ValueError("--backend postgres needs --postgres-url or LIMS_TEST_POSTGRES_URL")
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description:>10}"), BarColumn(),
                  TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(),
                  console=console, transient=as_json) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        report = runner.run(opts, progress)
    if markdown_out:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        write_output(markdown_out, runner.markdown(report))
    if as_json:
        emit_json(report.to_json())
        return
    table = Table(title=f"lims bench · {results:,} results · {report.started}")
    for col in ("backend", "figure", "median", "p95", "unit", "DuckDB", "ratio", "target"):
        table.add_column(col, justify="right" if col in ("median", "p95", "DuckDB", "ratio")
                         else "left")
    for r in report.rows:
        table.add_row(r.backend, r.figure, runner.fmt(r.median), runner.fmt(r.p95), r.unit,
                      runner.fmt(r.duckdb), runner.fmt(r.ratio, 2), r.target)
    Console(width=max(Console().width, 150)).print(table)
    for n in report.notes:
        typer.echo(f"note: {n}")


def _pages(results: int, backend: str, postgres_url: str | None, repeat: int, reuse: bool,
           keep: bool, workdir: Path, markdown_out: Path | None, as_json: bool) -> None:
    """`lims bench --pages`: the bench database(s), then every page timed in Chromium."""
    from lims.bench import datagen, runner
    from lims.bench import pages as page_bench

    backends = {"sqlite": ("sqlite",), "postgres": ("postgres",),
                "both": ("sqlite", "postgres")}.get(backend)
    if backends is None:
        raise ValueError(f"--backend must be sqlite, postgres or both, not {backend!r}")
    opts = runner.Options(results=results, backends=backends,
                          postgres_url=postgres_url or os.environ.get("LIMS_TEST_POSTGRES_URL"),
                          repeat=repeat, ingest=0, ingest_batch=1, latency_messages=0,
                          api_readings=0, push_results=0, import_rows=0,
                          codec_messages=1, duckdb=False, baseline=False, reuse=reuse,
                          keep=keep, workdir=workdir)
    out, text = [], []
    for b in backends:
        make = runner._sqlite_db if b == "sqlite" else runner._pg_db
        engine, url, _reused = make(opts, lambda *a: None)
        engine.dispose()
        timings = page_bench.time_pages(url=url, var_dir=workdir / f"pages-{b}",
                                        data_end=datagen.END, repeat=min(repeat, 5))
        out.append({"backend": b, "results": results,
                    "pages": [tm.to_dict() for tm in timings]})
        text.append(page_bench.markdown(timings, results, b))
    if markdown_out:
        write_output(markdown_out, "\n".join(text))
    if as_json:
        emit_json(out)
    else:
        typer.echo("\n".join(text))
