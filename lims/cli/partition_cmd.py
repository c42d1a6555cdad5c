"""`lims partition`: monthly partitions of test_result on the central PostgreSQL server."""

from __future__ import annotations

import typer

from lims.cli import common
from lims.cli.common import emit_json, handle_errors
from lims.security.auth import require
from lims.storage import partition as part
from lims.storage.engine import get_engine


@handle_errors
def partition(
    apply: bool = typer.Option(False, "--apply", help="Run the statements (default: print them)."),
    months_ahead: int = typer.Option(12, "--months-ahead", min=0,
                                     help="Monthly partitions to create beyond today/newest."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Partition test_result by month on PostgreSQL (see docs/performance.md), or add the
    missing months when it is partitioned already. Prints the plan unless --apply."""
    engine = get_engine()
    if apply:
        require(common.current_actor(), "users.manage")
        plan = part.apply(engine, months_ahead=months_ahead)
    else:
        with engine.connect() as conn:
            plan = part.plan(conn, months_ahead=months_ahead)
    data = {"applied": apply, "already_partitioned": plan.partitioned,
            "new_partitions": plan.months, "dropped_foreign_keys": plan.dropped_foreign_keys,
            "statements": plan.statements}
    if as_json:
        emit_json(data)
        return
    for stmt in plan.statements:
        typer.echo(stmt + ";")
    if plan.dropped_foreign_keys:
        typer.echo("-- foreign keys to test_result(id) dropped: "
                   + ", ".join(plan.dropped_foreign_keys))
    typer.echo(f"-- {'applied' if apply else 'plan only (add --apply)'}: "
               f"{len(plan.months)} new monthly partitions")
