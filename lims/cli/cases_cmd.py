"""`lims case …` and `lims alerts …`: the steps after a positive, and alert response times."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.enforcement import alerts, cases, confirmation
from lims.settings import load_settings
from lims.timeutil import now, parse_timestamp
from lims.wire.alerts import AlertPublic
from lims.wire.cases import CaseSummary

case_app = typer.Typer(help="Cases after a positive (Food Safety Law art. 88).",
                       no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts to grid groups and response times.", no_args_is_help=True)

AT_HELP = "When it happened (ISO 8601; local time when no zone is given). Default: now."


def _at(text: str | None) -> datetime:
    if not text:
        return now().replace(microsecond=0)
    try:
        return parse_timestamp(text, load_settings().timezone)
    except ValueError as exc:
        raise ValueError(f"--at: {exc}") from None


def _case_dict(s, case_id: int) -> dict:
    return cases.case_view(session=s, case_id=case_id).model_dump()


def _local(ts: datetime | None) -> str:
    return ts.astimezone(load_settings().timezone).strftime("%Y-%m-%d %H:%M") if ts else "—"


def _print_case(v: dict) -> None:
    typer.echo(f"case {v['id']} ({v['status']}) · sample {v['sample_code']} · result "
               f"{v['result_id']} · outcome {v['outcome'] or 'pending'}")
    typer.echo(f"  objection window {v['objection_window_hours']:g} h "
               f"(until {_local(v['objection_deadline'])}) — {v['objection_rule']}")
    for st in v["steps"]:
        extra = st["details"].get("reason") or st["details"].get("disposal") or \
            st["details"].get("verdict") or st["details"].get("text") or ""
        typer.echo(f"  {_local(st['at'])}  {st['kind']:<20} {st['by']:<14} {extra}")


@case_app.command("list")
@handle_errors
def list_(status: str | None = typer.Option(None, help="open or closed."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List cases, newest first."""
    with session() as s:
        rows = [CaseSummary.model_validate(c).model_dump()
                for c in cases.list_cases(session=s, status=status)]
    if as_json:
        emit_json(rows)
        return
    for c in rows:
        typer.echo(f"{c['id']:>5}  {c['status']:<6} opened {_local(c['opened_at'])}  "
                   f"vendor {c['vendor_id'] or '—'}  outcome {c['outcome'] or 'pending'}  "
                   f"{c['disposal']}")
    typer.echo(f"{len(rows)} case(s)")


@case_app.command("show")
@handle_errors
def show(case_id: int = typer.Option(..., "--case", help="Case id."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """A case with its clock and timeline."""
    with session() as s:
        v = _case_dict(s, case_id)
    if as_json:
        emit_json(v)
    else:
        _print_case(v)


def _step(fn, case_id: int, as_json: bool, **kw) -> None:
    actor = current_actor()
    with session() as s:
        fn(session=s, actor=actor, case_id=case_id, **kw)
        v = _case_dict(s, case_id)
    if as_json:
        emit_json(v)
    else:
        _print_case(v)


@case_app.command("notify")
@handle_errors
def notify(case_id: int = typer.Option(..., "--case", help="Case id."),
           at: str | None = typer.Option(None, help=AT_HELP),
           note: str = typer.Option("", help="Free text."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The vendor received the result (starts the objection clock)."""
    _step(cases.notify_vendor, case_id, as_json, at=_at(at), note=note)


@case_app.command("suspend")
@handle_errors
def suspend(case_id: int = typer.Option(..., "--case", help="Case id."),
            at: str | None = typer.Option(None, help=AT_HELP),
            note: str = typer.Option("", help="Free text."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The vendor suspended sale of the product."""
    _step(cases.suspend_sale, case_id, as_json, at=_at(at), note=note)


@case_app.command("object")
@handle_errors
def object_(case_id: int = typer.Option(..., "--case", help="Case id."),
            at: str | None = typer.Option(None, help=AT_HELP),
            note: str = typer.Option("", help="Free text."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The vendor objects: accepted within the window (4 h, art. 88), else refused with why.

    Exit code 0 when accepted, 1 when refused (the refusal is recorded either way)."""
    actor = current_actor()
    with session() as s:
        d = cases.lodge_objection(session=s, actor=actor, case_id=case_id, at=_at(at), note=note)
    if as_json:
        emit_json(asdict(d))
    else:
        typer.echo(("ACCEPTED: " if d.accepted else "REFUSED: ") + d.reason)
    if not d.accepted:
        raise typer.Exit(1)


@case_app.command("confirm")
@handle_errors
def confirm(case_id: int = typer.Option(..., "--case", help="Case id."),
            method: str = typer.Option(..., help="Lab method code (a rapid method is refused)."),
            analyte: str = typer.Option(..., help="Pesticide (Chinese or English name)."),
            value: float = typer.Option(..., help="Measured concentration."),
            unit: str = typer.Option("mg/kg", help="Unit of --value."),
            standard: str | None = typer.Option(None, help="Pin an edition, e.g. 'GB 2763-2021'; "
                                                           "default: the one in force."),
            at: str | None = typer.Option(None, help=AT_HELP),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Record the confirmatory lab result, judged against the MRL of the right edition."""
    actor = current_actor()
    with session() as s:
        out = confirmation.record_confirmatory(session=s, actor=actor, case_id=case_id, method=method,
                                        analyte=analyte, value=value, unit=unit,
                                        standard=standard, tested_at=_at(at))
    if as_json:
        emit_json(asdict(out))
    else:
        typer.echo(f"{out.verdict.upper()} ({out.standard}); case outcome: "
                   f"{out.case_outcome or 'pending'}")
        for r in out.reasons:
            typer.echo(f"  - {r}")


@case_app.command("dispose")
@handle_errors
def dispose(case_id: int = typer.Option(..., "--case", help="Case id."),
            disposal: str = typer.Option(..., help="destroyed, returned_to_supplier, … "
                                                   "(refdata/enforcement.toml)."),
            at: str | None = typer.Option(None, help=AT_HELP),
            note: str = typer.Option("", help="Free text."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """How the product was handled."""
    _step(cases.record_disposal, case_id, as_json, disposal=disposal, at=_at(at), note=note)


@case_app.command("notice")
@handle_errors
def notice(case_id: int = typer.Option(..., "--case", help="Case id."),
           text: str = typer.Option(..., help="The notice posted at the market."),
           at: str | None = typer.Option(None, help=AT_HELP),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The public notice of how the positive was handled."""
    _step(cases.publish_notice, case_id, as_json, text=text, at=_at(at))


@case_app.command("close")
@handle_errors
def close(case_id: int = typer.Option(..., "--case", help="Case id."),
          at: str | None = typer.Option(None, help=AT_HELP),
          reason: str = typer.Option("", help="Why (free text)."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Close a handled case."""
    _step(cases.close_case, case_id, as_json, at=_at(at), reason=reason)


@alerts_app.command("list")
@handle_errors
def alerts_list(open_only: bool = typer.Option(False, "--open", help="Only alerts without "
                                                                      "arrival on site."),
                as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List alerts, newest first."""
    with session() as s:
        rows = [AlertPublic.model_validate(a).model_dump()
                for a in alerts.list_alerts(session=s, open_only=open_only)]
    if as_json:
        emit_json(rows)
        return
    for a in rows:
        typer.echo(f"{a['id']:>5}  {a['level']:<10} raised {_local(a['raised_at'])}  "
                   f"ack {_local(a['acknowledged_at'])}  on site {_local(a['arrived_at'])}")


@alerts_app.command("ack")
@handle_errors
def ack(alert_id: int = typer.Option(..., "--alert", help="Alert id."),
        at: str | None = typer.Option(None, help=AT_HELP)) -> None:
    """Acknowledge an alert."""
    with session() as s:
        alerts.acknowledge(session=s, actor=current_actor(), alert_id=alert_id, at=_at(at))
    typer.echo(f"alert {alert_id} acknowledged")


@alerts_app.command("arrive")
@handle_errors
def arrive(alert_id: int = typer.Option(..., "--alert", help="Alert id."),
           at: str | None = typer.Option(None, help=AT_HELP)) -> None:
    """Record arrival on site."""
    with session() as s:
        a = alerts.arrive(session=s, actor=current_actor(), alert_id=alert_id, at=_at(at))
        minutes = (a.arrived_at - a.raised_at).total_seconds() / 60
    typer.echo(f"alert {alert_id}: on site after {minutes:.1f} min")


@alerts_app.command("report")
@handle_errors
def report(month: str | None = typer.Option(None, help="YYYY-MM (default: every month)."),
           year: int | None = typer.Option(None, help="Only this year."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Response times per grid group and month against the target (10 min)."""
    with session() as s:
        rows = [asdict(r) for r in alerts.response_report(session=s, month=month, year=year,
                                                          tz=load_settings().timezone)]
    if as_json:
        emit_json(rows)
        return
    typer.echo(f"{'month':<8} {'grid group':<16} {'alerts':>6} {'on site':>7} {'≤target':>8} "
               f"{'share':>6} {'median':>7} {'worst':>7}")
    for r in rows:
        share = f"{r['share_within_target']:.0%}" if r["share_within_target"] is not None else "—"
        med = f"{r['median_minutes']:.1f}" if r["median_minutes"] is not None else "—"
        worst = f"{r['worst_minutes']:.1f}" if r["worst_minutes"] is not None else "—"
        typer.echo(f"{r['month']:<8} {r['grid_group']:<16} {r['alerts']:>6} {r['arrived']:>7} "
                   f"{r['within_target']:>8} {share:>6} {med:>7} {worst:>7}")


@case_app.command("sweep")
@handle_errors
def sweep(since: str | None = typer.Option(None, help="Only results tested from this time."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Open the cases and raise the alerts of results stored without them (file imports, the
    instrument listener)."""
    from lims.enforcement.followup import follow_up_pending

    with session() as s:
        fu = follow_up_pending(session=s, actor=current_actor(),
                               since=_at(since) if since else None)
    data = {"cases_opened": len(fu.case_ids), "alerts_raised": len(fu.alert_ids)}
    if as_json:
        emit_json(data)
    else:
        typer.echo(f"{data['cases_opened']} case(s) opened, {data['alerts_raised']} alert(s) raised")
