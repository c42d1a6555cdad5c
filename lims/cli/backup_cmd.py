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
    var_dir = load_settings().var_dir
    path = out or default_backup_path(engine, var_dir / "backups")
    report = backup_database(engine=engine, actor=actor, out=path, var_dir=var_dir)
    if as_json:
        emit_json(report.to_dict())
    else:
        typer.echo(f"backup written: {report.path} ({report.size} bytes, sha256 {report.sha256})")
        if report.attachments is not None:
            typer.echo(f"attachments: {report.attachments['files']} file(s) in "
                       f"{report.attachments['file']}")
        if report.head:   # note it down elsewhere: `lims audit verify --head ID:HASH` checks it
            typer.echo(f"audit chain head: {report.head['event_id']}:{report.head['hash']} "
                       f"(also beside the backup in {report.path.name}.head.json)")


@handle_errors
def restore(file: Path = typer.Argument(..., help="A backup file written by `lims backup`."),
            yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
            as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Replace the database's content with a backup (the current content is saved first).

    Every other writer (listeners, imports, the app, the API) waits while it runs; afterwards the
    instrument journal is replayed, so readings received after the backup are stored again.
    The attachment files beside the backup are checked and the missing or different ones written.

    Run `lims init` afterwards when the backup comes from an older version (schema upgrade).
    """
    actor = current_actor()
    engine = get_engine()
    if not yes:
        typer.confirm(f"replace the whole database {engine.url.render_as_string(True)} "
                      f"with {file}?", abort=True)
    settings = load_settings()
    report = restore_database(engine=engine, actor=actor, source=file,
                              backup_dir=settings.var_dir / "backups",
                              journal_root=settings.journal_dir, tz=settings.timezone,
                              profile_dirs=(settings.var_dir / "profiles",),
                              var_dir=settings.var_dir)
    if as_json:
        emit_json(report.to_dict())
        return
    if report.safety is not None:
        typer.echo(f"the replaced content was saved as {report.safety}")
    if report.attachments is not None:
        typer.echo(f"attachments: {report.attachments['restored']} file(s) restored, "
                   f"{report.attachments['present']} already there (each checked by its SHA-256)")
    for serial, t in (report.replayed or {}).items():
        if "skipped" in t:
            typer.echo(f"journal {serial}: skipped ({t['skipped']})")
        else:
            typer.echo(f"journal {serial}: {t['chunks']} chunk(s) replayed; {t['results']} "
                       f"reading(s) received after the backup stored again, "
                       f"{t['duplicates']} already in the backup")
    typer.echo(f"restored from {report.path} (sha256 {report.sha256}); "
               "run `lims audit verify` to check the trail")
