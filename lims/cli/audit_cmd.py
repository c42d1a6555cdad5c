"""`lims audit verify|log`: check the hash chain, read the trail."""

from __future__ import annotations

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.security import audit, chainhead, seals
from lims.security.auth import require
from lims.settings import load_settings

app = typer.Typer(help="The audit trail: verify the hash chain, read the log.",
                  no_args_is_help=True)


def _event_dict(ev) -> dict:
    return {"id": ev.id, "at": ev.at.isoformat(), "actor": ev.actor, "action": ev.action,
            "entity": ev.entity, "entity_id": ev.entity_id, "old": ev.old, "new": ev.new,
            "reason": ev.reason, "hash": ev.hash}


@app.command("verify")
@handle_errors
def verify(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
           head: str | None = typer.Option(
               None, "--head", help="A chain head noted earlier (HASH or EVENT_ID:HASH): the "
                                    "chain must still hold it. Default: LIMS_VAR_DIR/"
                                    f"{chainhead.HEAD_FILE} when present."),
           quiet: bool = typer.Option(False, "--quiet", help="No progress lines.")) -> None:
    """Check every event's hash and link, every result against its seal in the chain, and the
    chain's head against a witness; name what is broken and exit 1 if anything is."""
    require(current_actor(), "audit.read")
    if head:
        witness = chainhead.Witness.parse(head)
    else:
        witness = chainhead.Witness.from_file(load_settings().var_dir / chainhead.HEAD_FILE)

    def progress(done: int, total: int) -> None:
        if not quiet and not as_json:
            typer.echo(f"  results checked: {done} of {total}", err=True)

    with session() as s:
        report = seals.verify(session=s, witness_check=witness, progress=progress)
    if witness is not None and report.chain_ok:
        for p in witness.problems(report.head_id):
            report.add(p)
    broken_at = report.broken_at if not report.chain_ok else None
    data = {"ok": report.ok, "checked": report.events, "broken_at": broken_at,
            "problem": report.problems[0] if report.problems else "", "head": report.head,
            "head_id": report.head_id, "results": report.results,
            "problems": report.problems, "more_problems": report.more,
            "witness": None if witness is None else {"source": witness.source,
                                                     "event_id": witness.event_id,
                                                     "hash": witness.hash}}
    if as_json:
        emit_json(data)
    elif report.ok:
        against = f"; matches the witnessed head ({witness.source})" if witness else \
            "; no witness to check the head against (note it, or use --head)"
        typer.echo(f"audit chain intact: {report.events} event(s), {report.results} result "
                   f"seal(s) checked; head {report.head_id}:{report.head}{against}")
    else:
        if broken_at is not None:
            typer.secho(f"audit chain BROKEN at event {broken_at}: {report.problems[0]}",
                        fg=typer.colors.RED, err=True)
        else:
            typer.secho(f"audit verify FAILED ({len(report.problems) + report.more} problem(s)); "
                        f"head {report.head_id}:{report.head}", fg=typer.colors.RED, err=True)
            for p in report.problems:
                typer.secho(f"  {p}", fg=typer.colors.RED, err=True)
            if report.more:
                typer.secho(f"  … and {report.more} more", fg=typer.colors.RED, err=True)
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
