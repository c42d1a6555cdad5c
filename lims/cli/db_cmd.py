"""`lims init`: create or upgrade the database and load reference data."""

from __future__ import annotations

import typer

from lims.cli.common import emit_json, handle_errors, session
from lims.db import get_engine
from lims.services.refdata import load_reference_data
from lims.settings import load_settings
from lims.store import upgrade


@handle_errors
def init(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Create/upgrade the database to the latest migration and load reference data.

    Idempotent: running it twice changes nothing.
    """
    settings = load_settings()
    upgrade(get_engine())
    with session() as s:
        report = load_reference_data(session=s)
    data = {"database": get_engine().url.render_as_string(hide_password=True),
            "inserted": report.inserted}
    if as_json:
        emit_json(data)
    else:
        typer.echo(f"database ready: {data['database']}")
        typer.echo("reference data inserted: " + ", ".join(f"{k} {v}" for k, v in report.inserted.items()))
    settings.var_dir.mkdir(parents=True, exist_ok=True)
