"""`lims sync …`: a field station and its central server.

`lims sync pull --from URL --token-env VAR` brings places, vendors (with grades) and instruments
down; `lims sync push --to URL --token-env VAR` sends the station's results, then its changes
(corrections, voids, reviews, case steps, alert responses, teams, events, patrols) up through the
server's API, resumable and never twice (calibration records go first); `lims sync status` shows
what waits of both and how many changes are parked (refused by the server: `lims sync parked`
lists them with the reason, `lims sync retry ID|--all` queues them again). A push that meets
the server in maintenance (503) stops, keeps everything, and exits with 75 (EX_TEMPFAIL). The token is read
from the named environment variable, never from the command line (it would show in `ps`).
"""

from __future__ import annotations

import typer
from sqlmodel import select

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.models import SyncPeer
from lims.sync.http import Central, token_from_env
from lims.sync.owners import backfill_owners
from lims.sync.parked import list_parked, parked_count, retry
from lims.sync.pull import pull
from lims.sync.push import pending_change_count, pending_count, push, resend_changes
from lims.sync.role import is_station

app = typer.Typer(help="Field station ↔ central server: pull reference data, push results.",
                  no_args_is_help=True)

TOKEN_HELP = "Environment variable holding the station's API token."


@app.command("pull")
@handle_errors
def pull_cmd(url: str = typer.Option(..., "--from", help="Central server, e.g. https://…"),
             token_env: str = typer.Option("LIMS_SYNC_TOKEN", "--token-env", help=TOKEN_HELP),
             timeout: float = typer.Option(60, help="Seconds to wait for the server."),
             as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Bring places, vendors with grades and instruments down from the central server."""
    central = Central(url, token_from_env(token_env), timeout)
    actor = current_actor()
    with session() as s:
        rep = pull(session=s, actor=actor, central=central)
    if as_json:
        emit_json(rep.to_dict())
        return
    typer.echo(f"pulled from {rep.url}: created {rep.created}, updated {rep.updated}")
    if rep.missing_methods or rep.missing_thresholds:
        typer.echo(f"warning: this station lacks methods {rep.missing_methods} and "
                   f"{rep.missing_thresholds} threshold row(s) the server has: update the "
                   "product on this station")


@app.command("push")
@handle_errors
def push_cmd(url: str = typer.Option(..., "--to", help="Central server, e.g. https://…"),
             token_env: str = typer.Option("LIMS_SYNC_TOKEN", "--token-env", help=TOKEN_HELP),
             batch: int = typer.Option(200, help="Readings per request (1–1000)."),
             timeout: float = typer.Option(60, help="Seconds to wait for each answer."),
             as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Send the station's results, then its changes, up in order; safe to interrupt and run
    again."""
    central = Central(url, token_from_env(token_env), timeout)
    actor = current_actor()

    def progress(rep) -> None:
        if not as_json:
            typer.echo(f"  … {rep.sent} sent ({rep.stored} stored, {rep.duplicates} duplicates)"
                       f"; changes: {rep.changes['sent']} sent ({rep.changes['applied']} "
                       f"applied, {rep.changes['duplicates']} duplicates)", err=True)

    with session() as s:
        rep = push(session=s, actor=actor, central=central, batch=batch, on_batch=progress)
    if as_json:
        emit_json(rep.to_dict())
    else:
        ch, cal = rep.changes, rep.calibrations
        typer.echo(f"pushed to {rep.url}: {rep.sent} result(s) sent, {rep.stored} stored, "
                   f"{rep.duplicates} already there; {rep.pending} waiting")
        typer.echo(f"  calibration records: {cal['sent']} sent, {cal['stored']} stored, "
                   f"{cal['duplicates']} already there, {cal.get('refused', 0)} refused")
        for message in cal.get("messages") or []:
            typer.echo(f"    refused: {message}")
        hrs = rep.hours
        if hrs["sent"]:
            typer.echo(f"  service hours: {hrs['sent']} sent, {hrs['stored']} stored, "
                       f"{hrs['refused']} refused")
        for message in hrs.get("messages") or []:
            typer.echo(f"    refused: {message}")
        typer.echo(f"  changes: {ch['sent']} sent, {ch['applied']} applied, "
                   f"{ch['duplicates']} already there; {ch['pending']} waiting; "
                   f"{ch['parked_total']} parked (`lims sync parked`)")
    if rep.try_later is not None:
        typer.echo(f"the central server is in maintenance: nothing was lost; push again in "
                   f"{rep.try_later} s", err=True)
        raise typer.Exit(75)


@app.command("status")
@handle_errors
def status_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """What waits to go up (results and changes), per central server."""
    with session() as s:
        peers = [{"url": p.url, "pending": pending_count(s, p.url),
                  "pending_changes": pending_change_count(s, p.url),
                  "parked": parked_count(s, p.url),
                  "last_pushed_result_id": p.last_pushed_result_id,
                  "last_pushed_event_id": p.last_pushed_event_id,
                  "pushed_at": p.pushed_at, "pulled_at": p.pulled_at}
                 for p in s.exec(select(SyncPeer).order_by(SyncPeer.url))]
        data = {"station": is_station(s), "pending": pending_count(s) if peers else None,
                "pending_changes": pending_change_count(s) if peers else None,
                "parked": parked_count(s), "peers": peers}
    if as_json:
        emit_json(data)
        return
    if not peers:
        typer.echo("not linked to a central server yet (`lims sync pull --from URL`)")
    for p in peers:
        typer.echo(f"{p['url']}: {p['pending']} result(s) and {p['pending_changes']} change(s) "
                   f"waiting, {p['parked']} parked; last push "
                   f"{p['pushed_at'] or 'never'}, last pull {p['pulled_at'] or 'never'}")


@app.command("parked")
@handle_errors
def parked_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Changes the central server refused, parked on this station, with the reason."""
    with session() as s:
        rows = [p.to_dict() for p in list_parked(session=s)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("no parked changes")
    for p in rows:
        mark = " (retry queued)" if p["retry"] else ""
        typer.echo(f"#{p['id']} change {p['event_id']} {p['action']} {p['result'] or ''} "
                   f"parked {p['parked_at']}{mark}: {p['field']}: {p['message']}")


@app.command("retry")
@handle_errors
def retry_cmd(ids: list[int] = typer.Argument(None, help="Parked change id(s) (`lims sync "
                                                        "parked`)."),
              everything: bool = typer.Option(False, "--all", help="Every parked change."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Put parked changes back in the queue (e.g. after reference data was fixed); the next
    `lims sync push` sends them first."""
    actor = current_actor()
    with session() as s:
        n = retry(session=s, actor=actor, ids=list(ids or []), everything=everything)
        s.commit()
    if as_json:
        emit_json({"queued": n})
    else:
        typer.echo(f"{n} parked change(s) queued for the next `lims sync push`")


@app.command("resend-changes")
@handle_errors
def resend_changes_cmd(url: str = typer.Option(..., "--to", help="Central server, e.g. https://…"),
                       after_event: int = typer.Option(0, "--after-event",
                                                       help="Offer again the changes after this "
                                                            "audit event id (0: all)."),
                       as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """After an upgrade that syncs more kinds of change: the next `lims sync push` offers the
    station's changes again; the server answers "duplicate" for what it already applied."""
    actor = current_actor()
    with session() as s:
        n = resend_changes(session=s, actor=actor, url=url, after_event=after_event)
        s.commit()
    if as_json:
        emit_json({"offered_again": n})
    else:
        typer.echo(f"{n} change(s) will be offered again by the next `lims sync push --to {url}`")


@app.command("backfill-owners")
@handle_errors
def backfill_owners_cmd(
        station: str = typer.Option(..., "--station", help="The station whose results these are."),
        sample_prefix: str = typer.Option(None, "--sample-prefix",
                                          help="Only results whose sample codes start so (the "
                                               "station's slips): you vouch they are its."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Count, change nothing."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """On the central server: owner rows for a station's results uploaded before the change
    sync (migration 0027), so its later changes to them apply. Refuses when it cannot tell
    which station uploaded a result."""
    actor = current_actor()
    with session() as s:
        rep = backfill_owners(session=s, actor=actor, station=station,
                              sample_prefix=sample_prefix, dry_run=dry_run)
    data = {**rep.to_dict(), "dry_run": dry_run}
    if as_json:
        emit_json(data)
        return
    verb = "would add" if dry_run else "added"
    typer.echo(f"{station}: {verb} {rep.created} owner row(s); {rep.others} result(s) of other "
               f"stations and {rep.unknown} of no known token left alone")
