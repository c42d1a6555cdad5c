"""`lims lab watch`: check the kit lots against the lab and show the instrument clocks
(issue 19: ``lims.lab.watch``, ``lims.metrology.clocks``)."""

from __future__ import annotations

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.lab import watch as svc
from lims.metrology.clocks import clock_report
from lims.security.auth import require


@handle_errors
def watch(as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON.")) -> None:
    """Raise the alerts of kit lots whose false-negative rate is over the evaluation limit
    (once per lot), then list the open lab alerts and the instrument clocks that drift or
    back-date results."""
    actor = current_actor()
    require(actor, svc.PERMISSION)
    with session() as s:
        new = svc.check_lots(session=s, actor=actor)
        open_alerts = svc.list_alerts(session=s, open_only=True)
        clocks = clock_report(session=s)
        out = {"new_alerts": [a.id for a in new],
               "open_alerts": [{"id": a.id, "subject": a.subject, "message": a.message,
                                "raised_at": a.raised_at} for a in open_alerts],
               "drifting": [c.__dict__ for c in clocks.drifting],
               "backdated": [b.__dict__ for b in clocks.backdated]}
    if as_json:
        emit_json(out)
        return
    typer.echo(f"{len(new)} new lab alert(s); {len(out['open_alerts'])} open")
    for a in out["open_alerts"]:
        typer.echo(f"  #{a['id']} {a['message']}")
    for c in clocks.drifting:
        typer.echo(f"  clock {c.serial}: off by {c.median_offset_minutes:+.1f} min "
                   f"(limit {clocks.drift_minutes:g})")
    for b in clocks.backdated:
        typer.echo(f"  back-dated: sample {b.sample_code} on {b.serial}, received "
                   f"{b.lag_minutes:.0f} min after its time ({b.journal_ref})")
