"""`lims results …`: import a file of readings, export results, show one sample's results."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer

from lims.cli.common import current_actor, emit_json, fail, handle_errors, session
from lims.errors import ValidationFailed
from lims.files import results_export, results_import
from lims.files.output import open_output
from lims.settings import load_settings
from lims.timeutil import now

app = typer.Typer(help="Import, export and look up test results.", no_args_is_help=True)


def _date(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from None


class _Progress:
    """Rows read, validated and stored, on standard error (never in ``--json`` output), for a
    file bigger than one chunk; at most about once a second, on one line on a terminal."""

    def __init__(self) -> None:
        from lims.files.import_stream import CHUNK_ROWS

        self.counts = {"read": 0, "validated": 0, "stored": 0}
        self.min_rows, self.last, self.shown = CHUNK_ROWS, 0.0, False
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, rows: int) -> None:
        import time

        self.counts[stage] = rows
        t = time.monotonic()
        if rows < self.min_rows or t - self.last < 1.0:
            return
        self.last, self.shown = t, True
        line = ("import: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()) + " rows")
        typer.echo(("\r" + line) if self.tty else line, err=True, nl=not self.tty)

    def done(self) -> None:
        if self.shown:
            self.last = 0.0
            self("stored", self.counts["stored"])
            if self.tty:
                typer.echo("", err=True)


@app.command("import")
@handle_errors
def import_(file: Path = typer.Argument(..., help="A .csv (UTF-8 or GBK) or .xlsx file with a "
                                        "header row; columns in the README."),
            as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
            encoding: str = typer.Option(None, "--encoding", help="CSV encoding (utf-8 or gbk) "
                                         "when the file's bytes could be either.")) -> None:
    """Import readings, all or nothing: any bad row → nothing written, every bad row listed
    with its line, column and reason, exit code 1."""
    settings = load_settings()
    actor = current_actor()
    progress = _Progress()
    try:
        with session() as s:
            report = results_import.import_results(session=s, actor=actor, path=file,
                                                   tz=settings.timezone, encoding=encoding,
                                                   progress=progress)
        progress.done()
    except ValidationFailed as exc:
        if as_json:
            emit_json({"ok": False, "written": 0,
                       "errors": [{"line": e.row, "column": e.field, "message": e.message}
                                  for e in exc.errors]})
        typer.secho(f"error: {file.name}: {len(exc.errors)} bad row(s), nothing written",
                    fg=typer.colors.RED, err=True)
        for e in exc.errors:
            typer.echo(f"  line {e.row}, column {e.field}: {e.message}", err=True)
        raise typer.Exit(1) from None
    for note in report.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    if as_json:
        emit_json({"ok": True, **report.to_dict()})
        return
    typer.echo(f"{report.file}: {report.rows} row(s), {report.created} result(s) stored, "
               f"{report.duplicates} already present")
    if report.verdicts:
        typer.echo("  verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(report.verdicts.items())))
    if report.held:
        typer.echo(f"  held for review (instrument calibration): {report.held}")
    if report.mismatches:
        typer.echo(f"  instrument verdict differs from ours (flagged): {report.mismatches}")


@app.command("export")
@handle_errors
def export(fmt: str = typer.Option("csv", "--format", help="csv or xlsx."),
           market: str | None = typer.Option(None, "--market", help="Market code or name."),
           start: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD, local)."),
           end: str | None = typer.Option(None, "--to", help="Last day, inclusive (YYYY-MM-DD)."),
           out: Path | None = typer.Option(None, "--out", help="Output file; default: CSV to "
                                           "standard output, XLSX to results-<time>.xlsx."),
           encoding: str = typer.Option("utf-8-sig", "--encoding",
                                        help="CSV encoding: utf-8-sig (Excel) or gb18030.")) -> None:
    """Export results (names in Chinese and English, local times; cells that a spreadsheet
    would run as a formula are escaped with a leading apostrophe)."""
    settings = load_settings()
    fmt = fmt.lower()
    if fmt not in ("csv", "xlsx"):
        fail(f"--format must be csv or xlsx, got {fmt!r}")
    if encoding.lower() not in ("utf-8-sig", "utf-8", "gb18030", "gbk"):
        fail(f"--encoding must be utf-8-sig, utf-8 or gb18030, got {encoding!r}")
    first, last = _date(start, "--from"), _date(end, "--to")
    if out is None and fmt == "xlsx":
        out = Path(f"results-{now().astimezone(settings.timezone):%Y%m%d-%H%M%S}.xlsx")
    actor = current_actor()
    with session() as s:
        if out is None:
            n = results_export.export_results(session=s, actor=actor, out=sys.stdout.buffer, fmt=fmt,
                                          market=market, start=first, end=last,
                                          tz=settings.timezone, encoding=encoding)
            sys.stdout.flush()
            return
        with open_output(out) as fh:
            n = results_export.export_results(session=s, actor=actor, out=fh, fmt=fmt,
                                              market=market, start=first, end=last,
                                              tz=settings.timezone, encoding=encoding)
    typer.echo(f"{n} result(s) written to {out}", err=True)


@app.command("show")
@handle_errors
def show(code: str = typer.Argument(..., help="Sample code (on the result slip)."),
         as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """A sample and all its results, each verdict with its reasons."""
    settings = load_settings()
    actor = current_actor()
    with session() as s:
        data = results_export.sample_results(session=s, actor=actor, code=code, tz=settings.timezone)
    if as_json:
        emit_json(data)
        return
    where = data["market_name"] or ("resident purchase" if data["resident_purchase"] else "—")
    stall = f" stall {data['vendor_stall']} {data['vendor_name'] or ''}" if data["vendor_stall"] else ""
    typer.echo(f"sample {data['code']}: {data['commodity']} ({data['commodity_en']}), "
               f"{where}{stall}, taken {data['taken_at']}")
    for r in data["results"]:
        value = f" {r['value']:g} {r['unit']}" if r["value"] is not None else ""
        flags = [r["status"]] if r["status"] != "recorded" else []
        if r["mismatch"]:
            flags.append(f"instrument said {r['instrument_verdict']}")
        if r["retest_of"]:
            flags.append(f"re-test of #{r['retest_of']}")
        extra = f"  [{'; '.join(flags)}]" if flags else ""
        analyte = f" {r['analyte']}" if r["analyte"] else ""
        typer.echo(f"  #{r['id']} {r['tested_at']} {r['method']}{analyte}: "
                   f"{r['verdict'].upper()}{value}{extra}")
        for reason in r["reasons"]:
            typer.echo(f"      - {reason}")
    if not data["results"]:
        typer.echo("  (no results)")


@app.command("import-staged")
@handle_errors
def import_staged(action: str = typer.Argument("list", help="list, finish or discard."),
                  sha: str | None = typer.Option(None, "--sha", help="The import's file SHA-256 "
                                                 "(discard; as `list` shows it)."),
                  reason: str = typer.Option("", "--reason", help="Why (discard)."),
                  as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Imports stopped part-way (issue 18): `list` what is staged (counted nowhere) or published
    and waiting for its follow-up; `finish` runs that follow-up; `discard --sha S --reason R`
    voids an import's staged rows (import the same file again instead to complete it)."""
    from lims.files import import_publish

    actor = current_actor()
    with session() as s:
        if action == "list":
            rows = [p.to_dict() for p in import_publish.pending(s)]
            if as_json:
                emit_json({"imports": rows})
                return
            if not rows:
                typer.echo("no staged import")
            for r in rows:
                typer.echo(f"{r['import_sha']}  {r['phase']:<9}  {r['results']} result(s)")
        elif action == "finish":
            done = import_publish.follow_up_published(session=s, actor=actor)
            out = {"results": done.results, "cases": done.cases, "alerts": done.alerts}
            emit_json(out) if as_json else typer.echo(
                f"followed up {done.results} result(s): {done.cases} case(s), "
                f"{done.alerts} alert(s)")
        elif action == "discard":
            if not sha:
                fail("discard needs --sha (see `lims results import-staged list`)")
            n = import_publish.discard(session=s, actor=actor, import_sha=sha, reason=reason)
            s.commit()
            emit_json({"voided": n}) if as_json else typer.echo(
                f"voided {n} staged result(s) of import {sha[:12]}")
        else:
            fail(f"unknown action {action!r}: use list, finish or discard")
