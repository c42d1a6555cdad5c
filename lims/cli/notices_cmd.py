"""`lims notices …`: deliver and list the notices sent to grid officers when alerts are raised."""

from __future__ import annotations

import time

import typer

from lims.cli.common import emit_json, handle_errors, session
from lims.enforcement.notices import Channels, list_notices, send_due

app = typer.Typer(help="Alert notices to grid officers (e-mail, webhook).", no_args_is_help=True)


@app.command("send")
@handle_errors
def send(loop: bool = typer.Option(False, "--loop", help="Keep sending until stopped."),
         interval: float = typer.Option(15, help="Seconds between rounds with --loop."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Deliver the notices that are due; failures are retried later with back-off."""
    channels = Channels.from_settings()   # a bad setting stops here, named
    while True:
        with session() as s:
            rep = send_due(session=s, channels=channels)
        if as_json:
            emit_json(rep.to_dict())
        elif rep.sent or rep.retrying or rep.failed or not loop:
            typer.echo(f"notices: {rep.sent} sent, {rep.retrying} to retry, {rep.failed} failed")
            for e in rep.errors:
                typer.echo(f"  {e}", err=True)
        if not loop:
            return
        time.sleep(interval)


@app.command("list")
@handle_errors
def list_cmd(status: str | None = typer.Option(None, help="pending, sent or failed."),
             limit: int = typer.Option(50, help="How many, newest first."),
             as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The latest notices with their state and last error."""
    with session() as s:
        rows = [{"id": n.id, "alert_id": n.alert_id, "channel": n.channel, "target": n.target,
                 "status": n.status, "attempts": n.attempts, "created_at": n.created_at,
                 "sent_at": n.sent_at, "next_attempt_at": n.next_attempt_at,
                 "last_error": n.last_error} for n in list_notices(session=s, status=status,
                                                                   limit=limit)]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"#{r['id']} alert {r['alert_id']} {r['channel']} → {r['target']}: "
                   f"{r['status']} ({r['attempts']} attempt(s)) {r['last_error']}")
