"""`lims audit verify|log`: check the hash chain, read the trail."""

from __future__ import annotations

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.security import audit
from lims.security.auth import require

app = typer.Typer(help="The audit trail: verify the hash chain, read the log.",
                  no_args_is_help=True)


def _event_dict(ev) -> dict:
    return {"id": ev.id, "at": ev.at.isoformat(), "actor": ev.actor, "action": ev.action,
            "entity": ev.entity, "entity_id": ev.entity_id, "old": ev.old, "new": ev.new,
            "reason": ev.reason, "hash": ev.hash}


@app.command("verify")
@handle_errors
def verify(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Check every event's hash and link; name the first broken one and exit 1 if any."""
    require(current_actor(), "audit.read")
    with session() as s:
        report = audit.verify(session=s)
    data = {"ok": report.ok, "checked": report.checked, "broken_at": report.broken_at,
            "problem": report.problem, "head": report.head}
    if as_json:
        emit_json(data)
    elif report.ok:
        typer.echo(f"audit chain intact: {report.checked} event(s) checked; head {report.head}")
    else:
        typer.secho(f"audit chain BROKEN at event {report.broken_at}: {report.problem}",
                    fg=typer.colors.RED, err=True)
    if not report.ok:
        raise typer.Exit(1)


@app.command("log")
@handle_errors
def log(entity: str | None = typer.Option(None, "--entity",
                                          help="Only this kind: result, threshold, calibration, "
                                               "case, user …"),
        entity_id: str | None = typer.Option(None, "--id", help="Only this entity id."),
        actor_name: str | None = typer.Option(None, "--actor", help="Only events by this user."),
        limit: int = typer.Option(50, "--limit", min=1, max=100000, help="How many, newest first."),
        as_json: bool = typer.Option(False, "--json", help="Print the events as JSON.")) -> None:
    """Show the newest audit events: who, when, what, old → new, reason."""
    require(current_actor(), "audit.read")
    with session() as s:
        rows = [_event_dict(e) for e in audit.events(session=s, entity=entity, entity_id=entity_id,
                                                      actor_name=actor_name, limit=limit)]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        reason = f"  reason: {r['reason']}" if r["reason"] else ""
        typer.echo(f"#{r['id']} {r['at']} {r['actor']} {r['action']} {r['entity']}:{r['entity_id']}"
                   f"  {r['old'] or ''} -> {r['new'] or ''}{reason}")
