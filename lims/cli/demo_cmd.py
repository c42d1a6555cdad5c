"""`lims demo`: load realistic, reproducible demo data (lims/demo/loader.py)."""

from __future__ import annotations

from datetime import date

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.demo.loader import has_results, run_demo
from lims.settings import load_settings


@handle_errors
def demo(markets: int = typer.Option(5, "--markets", help="Markets per county (4 counties); "
                                     "kinds are cycled, so 2 or more give every kind."),
         days: int = typer.Option(120, "--days", help="Days of results, ending on --until."),
         seed: int = typer.Option(42, "--seed", help="Random seed: same seed, same data."),
         until: str | None = typer.Option(None, "--until",
                                          help="Last day of the data (YYYY-MM-DD); default yesterday (the last whole day)."),
         if_empty: bool = typer.Option(False, "--if-empty",
                                       help="Do nothing when the database already holds results."),
         as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Load demo data: counties, grid groups, markets of every kind, vendors, instruments with
    calibration records, outreach events, and results with seasonal pass rates, positives and
    their re-tests and lab confirmations (all through the ingest service)."""
    settings = load_settings()
    try:
        last = date.fromisoformat(until) if until else None
    except ValueError:
        raise ValueError(f"--until: expected a date YYYY-MM-DD, got {until!r}") from None
    if if_empty:
        with session() as s:
            if has_results(s):  # checked before asking who is acting: `make run` re-runs quietly
                typer.echo("demo: the database already holds results; nothing done (--if-empty)")
                return
    actor = current_actor()
    with session() as s:
        report = run_demo(session=s, actor=actor, markets_per_county=markets, days=days,
                          seed=seed, until=last, if_empty=if_empty, tz=settings.timezone)
    if as_json:
        emit_json(report.to_dict())
    elif report.skipped:
        typer.echo("demo: the database already holds results; nothing done (--if-empty)")
    else:
        typer.echo(f"demo data loaded for {report.start} … {report.until} (seed {seed}):")
        for k, v in report.counts.items():
            typer.echo(f"  {k:<28} {v}")
