"""`lims backup` / `lims restore`: a consistent copy of the whole database, and back."""

from __future__ import annotations

from pathlib import Path

import typer

from lims.cli.common import current_actor, emit_json, handle_errors
from lims.security.backup import backup_database, default_backup_path, restore_database
from lims.settings import load_settings
from lims.storage.engine import get_engine


@handle_errors
def backup(out: Path | None = typer.Option(None, "--out",
                                           help="Backup file to write (default: "
                                                "LIMS_VAR_DIR/backups/lims-<UTC time>.sqlite3 or "
                                                ".pgdump). Never overwritten."),
           as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Back up the database while it is in use (SQLite online backup API; pg_dump)."""
    actor = current_actor()
    engine = get_engine()
    path = out or default_backup_path(engine, load_settings().var_dir / "backups")
    report = backup_database(engine=engine, actor=actor, out=path)
    if as_json:
        emit_json(report.to_dict())
    else:
        typer.echo(f"backup written: {report.path} ({report.size} bytes, sha256 {report.sha256})")


@handle_errors
def restore(file: Path = typer.Argument(..., help="A backup file written by `lims backup`."),
            yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
            as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Replace the database's content with a backup (the current content is saved first).

    Run `lims init` afterwards when the backup comes from an older version (schema upgrade).
    """
    actor = current_actor()
    engine = get_engine()
    if not yes:
        typer.confirm(f"replace the whole database {engine.url.render_as_string(True)} "
                      f"with {file}?", abort=True)
    report = restore_database(engine=engine, actor=actor, source=file,
                              backup_dir=load_settings().var_dir / "backups")
    if as_json:
        emit_json(report.to_dict())
    else:
        typer.echo(f"restored from {report.path} (sha256 {report.sha256}); "
                   "run `lims audit verify` to check the trail")
