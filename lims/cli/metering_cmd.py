"""`lims metering …`: residents' household instruments checked at outreach events."""

from __future__ import annotations

from pathlib import Path

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.cli.metrology_cmd import load_readings
from lims.metrology import metering

app = typer.Typer(help="Outreach metering: residents' scales and BP meters checked at events.",
                  no_args_is_help=True)


@app.command("check")
@handle_errors
def check(event: int = typer.Option(..., "--event", help="Outreach event id."),
          kind: str = typer.Option(..., "--kind", help="body_scale, bp_meter or kitchen_scale."),
          readings: Path = typer.Option(..., "--readings", help="JSON file of readings."),
          make: str = typer.Option("", "--make", help="Make of the resident's instrument."),
          model: str = typer.Option("", "--model", help="Model."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Record one resident's instrument check (in-service MPE). Exit 0 pass, 1 fail."""
    data = load_readings(readings)
    if not isinstance(data, dict):
        raise ValueError(f"{readings}: expected a JSON object")
    with session() as s:
        mc = metering.record_check(session=s, actor=current_actor(), event_id=event, kind=kind,
                                   readings=data, make=make, model=model)
        out = {"id": mc.id, "event_id": mc.event_id, "kind": mc.kind, "outcome": mc.outcome,
               "report": mc.report}
    if as_json:
        emit_json(out)
    else:
        typer.echo(f"check {out['id']}: {out['kind']} {out['outcome'].upper()}")
        for c in out["report"]["checks"]:
            typer.echo(f"  [{'pass' if c['passed'] else 'FAIL'}] {c['name']}: {c['message']}")
    raise typer.Exit(0 if out["outcome"] == "pass" else 1)


@app.command("counts")
@handle_errors
def counts(event: int | None = typer.Option(None, "--event", help="One event only."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Instruments checked per outreach event, by kind and outcome."""
    with session() as s:
        rows = metering.counts_per_event(session=s, event_id=event)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['event_id']:>6} {r['event']}: {r['checked']} checked, {r['passed']} "
                   f"passed, {r['failed']} failed")
