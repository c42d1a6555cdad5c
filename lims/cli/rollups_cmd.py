"""`lims rollups`: check or rebuild the pass-rate rollups (docs/performance.md)."""

from __future__ import annotations

import typer

from lims.cli import common
from lims.cli.common import emit_json, handle_errors
from lims.intake import rollup_rebuild, rollups
from lims.security import audit
from lims.security.auth import require
from lims.storage.engine import get_engine

app = typer.Typer(help="Pass-rate rollup tables: check them against the results, or rebuild them.",
                  no_args_is_help=True)


@app.command("check")
@handle_errors
def check(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Compare every rollup row with a fresh aggregation of the results (exit 1 if any differ)."""
    with common.session() as s:
        problems = rollups.check(session=s)
    if as_json:
        emit_json({"exact": not problems, "problems": problems})
    else:
        for p in problems[:50]:
            typer.echo(p)
        typer.echo("rollups are exact" if not problems else f"{len(problems)} rollup rows differ "
                   "(run `lims rollups rebuild`)")
    if problems:
        raise typer.Exit(1)


@app.command("rebuild")
@handle_errors
def rebuild(as_json: bool = typer.Option(False, "--json", help="Print the row counts as JSON."),
            samples_per_slice: int = typer.Option(
                rollup_rebuild.SAMPLES_PER_SLICE, "--samples-per-slice", min=1,
                help="Samples whose flags are counted again per transaction."),
            weeks_per_slice: int = typer.Option(
                rollup_rebuild.WEEKS_PER_SLICE, "--weeks-per-slice", min=1,
                help="Weeks of rollups recomputed per transaction.")) -> None:
    """Recompute every rollup from the results (after a market moved to another county).

    Runs in short transactions (a slice of samples, then a few weeks at a time), so listeners
    and other writers keep storing in between; progress goes to stderr."""
    actor = common.current_actor()
    require(actor, "reference.edit")

    def progress(stage: str, done: int, total: int) -> None:
        typer.echo(f"rebuild: {stage} {done}/{total}", err=True)

    counts = rollup_rebuild.rebuild_in_slices(
        engine=get_engine(), samples_per_slice=samples_per_slice,
        weeks_per_slice=weeks_per_slice, progress=progress)
    with common.session() as s:   # one event per rebuild, after the last slice
        audit.record(session=s, actor=actor, action="rollups.rebuild", entity="rollups",
                     entity_id="all", new=counts)
    if as_json:
        emit_json(counts)
    else:
        for name, n in counts.items():
            typer.echo(f"{name}: {n} rows")
