"""`lims setup …`: bulk set-up of master data from a workbook, and its empty template."""

from __future__ import annotations

from pathlib import Path

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.errors import ValidationFailed
from lims.masterdata import workbook
from lims.settings import load_settings

app = typer.Typer(help="Set up grid groups, markets, vendors, instruments and teams from a "
                       "workbook.", no_args_is_help=True)


@app.command("import")
@handle_errors
def import_(file: Path = typer.Argument(..., help="An .xlsx workbook (sheets grid_groups, "
                                        "markets, vendors, instruments, teams, volunteers) or a "
                                        "folder of .csv files with those names."),
            as_json: bool = typer.Option(False, "--json", help="Print counts per sheet as JSON.")
            ) -> None:
    """Import master data, all or nothing: any bad row → nothing written, every bad row named
    by sheet, line and column, exit code 1. Rows are matched by code: a second import of the
    same workbook changes nothing."""
    settings = load_settings()
    actor = current_actor()
    tables = workbook.read_source(file)
    try:
        with session() as s:
            report = workbook.import_setup(session=s, actor=actor, tables=tables,
                                           source=file.name,
                                           profile_dirs=(settings.var_dir / "profiles",))
    except ValidationFailed as exc:
        if as_json:
            emit_json({"ok": False, "written": 0, "errors": [
                {"sheet": getattr(e, "sheet", ""), "line": e.row, "column": e.field,
                 "message": e.message} for e in exc.errors]})
        typer.secho(f"error: {file.name}: {len(exc.errors)} bad cell(s), nothing written",
                    fg=typer.colors.RED, err=True)
        for e in exc.errors:
            typer.echo(f"  {e}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        emit_json({"ok": True, **report.to_dict()})
        return
    for name, c in report.sheets.items():
        typer.echo(f"{name}: {c['created']} created, {c['updated']} updated, "
                   f"{c['unchanged']} unchanged")


@app.command("template")
@handle_errors
def template(out: Path = typer.Option(..., "--out", help="The .xlsx file to write.")) -> None:
    """Write an empty set-up workbook: one sheet per kind with its header row, and notes."""
    if out.suffix.lower() != ".xlsx":
        raise ValueError(f"--out: expected an .xlsx file name, got {out.name!r}")
    out.write_bytes(workbook.template_bytes())
    typer.echo(f"wrote {out}")
