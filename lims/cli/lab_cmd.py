"""`lims lab …`: the laboratory's documents (test reports of confirmatory results)."""

from __future__ import annotations

from pathlib import Path

import typer

from lims.cli.common import emit_json, handle_errors, session
from lims.files.output import write_output
from lims.lab.reports import lab_report, report_pdf

app = typer.Typer(help="Lab test reports of confirmatory results.", no_args_is_help=True)


@app.command("report")
@handle_errors
def report(code: str = typer.Argument(..., help="Sample code."),
           out: Path | None = typer.Option(None, "--out", help="Write the PDF here."),
           base_url: str | None = typer.Option(None, help="Public page base for the QR "
                                                          "(default LIMS_PUBLIC_BASE_URL)."),
           as_json: bool = typer.Option(False, "--json", help="Print the report's data.")) -> None:
    """The sample's test report: version, lines (method, value, MRL, verdict); --out writes the
    bilingual PDF with its verification QR."""
    with session() as s:
        rep = lab_report(session=s, code=code)
        data = report_pdf(session=s, code=code, base_url=base_url) if out else None
    if out is not None and data is not None:
        write_output(out, data)
    if as_json:
        emit_json({"code": rep.code, "version": rep.version, "verdict": rep.verdict,
                   "lines": [ln.__dict__ for ln in rep.lines]})
    else:
        typer.echo(f"sample {rep.code}: version {rep.version}, {rep.verdict}, "
                   f"{len(rep.lines)} result(s)" + (f"; written to {out}" if out else ""))
