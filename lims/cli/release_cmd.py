"""`lims release …`: results awaiting second-person release (issue 19, ``lims.lab.release``)."""

from __future__ import annotations

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.lab import release as svc
from lims.timeutil import local_tz

app = typer.Typer(help="Second-person release of lab results: list, approve, send back.",
                  no_args_is_help=True)


@app.command("list")
@handle_errors
def list_(recorder: str | None = typer.Option(None, "--recorder",
                                              help="Only this recorder's results."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """What waits for release, oldest first, and for how long."""
    with session() as s:
        rows = svc.pending(session=s, recorder=recorder)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("nothing awaits release")
    for r in rows:
        value = "-" if r["computed_value"] is None else f"{r['computed_value']:g} " \
                                                        f"{r['computed_unit'] or ''}".strip()
        back = f"  sent back by {r['sent_back_by']}: {r['sent_back_reason']}" \
            if r["state"] == svc.SENT_BACK else ""
        typer.echo(f"{r['id']:>8}  {r['sample']:12} {r['method']:10} {r['analyte_en'] or '-'} "
                   f"{value} {r['verdict']}  by {r['tested_by'] or '-'} "
                   f"{r['tested_at'].astimezone(local_tz()):%Y-%m-%d %H:%M}  "
                   f"waiting {r['age_hours']:g} h{back}")


@app.command("approve")
@handle_errors
def approve(result_id: int = typer.Option(..., "--id", help="Test result id."),
            reason: str = typer.Option("", "--reason", help="Note (optional, audited)."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Release a result (not one you recorded): it counts and its follow-up runs."""
    with session() as s:
        tr = svc.release(session=s, actor=current_actor(), result_id=result_id, reason=reason)
        out = {"id": tr.id, "status": tr.status, "verdict": tr.verdict}
    if as_json:
        emit_json(out)
    else:
        typer.echo(f"result {out['id']}: released ({out['status']})")


@app.command("send-back")
@handle_errors
def send_back(result_id: int = typer.Option(..., "--id", help="Test result id."),
              reason: str = typer.Option(..., "--reason", help="Why (required, audited)."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Send a result back to its recorder for correction, with a reason."""
    with session() as s:
        tr = svc.send_back(session=s, actor=current_actor(), result_id=result_id, reason=reason)
        out = {"id": tr.id, "status": tr.status, "to": tr.tested_by}
    if as_json:
        emit_json(out)
    else:
        typer.echo(f"result {out['id']}: sent back to {out['to'] or 'its recorder'}")
