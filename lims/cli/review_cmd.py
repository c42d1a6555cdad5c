"""`lims review …`: results the calibration gate held; accept or void them with a reason."""

from __future__ import annotations

import typer

from lims.cli.common import current_actor, emit_json, fail, handle_errors, session
from lims.intake import review
from lims.timeutil import local_tz

app = typer.Typer(help="Review results held by the calibration gate.", no_args_is_help=True)


@app.command("held")
@handle_errors
def held(instrument: str | None = typer.Option(None, "--instrument", help="Serial number."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List held results (kept out of pass rates until reviewed)."""
    with session() as s:
        rows = review.held(session=s, instrument_serial=instrument)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("no held results")
    for r in rows:
        typer.echo(f"{r['id']:>8}  {r['tested_at'].astimezone(local_tz()):%Y-%m-%d %H:%M}  {r['serial_no'] or '-':14} "
                   f"{r['calibration_state']:8} {r['verdict']:12} {r['commodity']} "
                   f"@ {r['market'] or '-'}")


@app.command("result")
@handle_errors
def result(result_id: int = typer.Option(..., "--id", help="Test result id."),
           accept: bool = typer.Option(False, "--accept", help="Accept: it counts from now on."),
           void: bool = typer.Option(False, "--void", help="Void: kept, never counted."),
           reason: str = typer.Option(..., "--reason", help="Why (required, audited)."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Accept or void one held result, with a reason."""
    if accept == void:
        fail("give exactly one of --accept or --void")
    fn = review.accept if accept else review.void
    with session() as s:
        tr = fn(session=s, actor=current_actor(), result_id=result_id, reason=reason)
        out = {"id": tr.id, "status": tr.status, "verdict": tr.verdict}
    if as_json:
        emit_json(out)
    else:
        typer.echo(f"result {out['id']}: {out['status']}")
