"""`lims grades …`, `lims agreement`, `lims events report`, `lims slip`, `lims board`,
`lims field-test`: the field workflows from the command line."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.cli.slip_cmd import slip  # noqa: F401  (registered as `lims slip` in lims.cli)
from lims.enforcement import grades
from lims.field import board as board_svc
from lims.field.stand import record_field_test
from lims.outreach import events
from lims.reference.lookup import RefCache
from lims.reporting import agreement as agreement_svc
from lims.settings import load_settings
from lims.timeutil import parse_timestamp

grades_app = typer.Typer(help="Vendor credit grades A–D.", no_args_is_help=True)
events_app = typer.Typer(help="Outreach events and volunteer teams.", no_args_is_help=True)


def _pct(x: float | None) -> str:
    return f"{x:.1%}" if x is not None else "—"


@grades_app.command("recompute")
@handle_errors
def recompute(at: str | None = typer.Option(None, help="Report the grades as of this time "
                                                        "(ISO 8601) without changing the "
                                                        "current grades; default: grade now."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Grade every vendor from its record now (rules: refdata/credit_grades.toml); with --at,
    only report what the grades were as of that time."""
    tz = load_settings().timezone
    when = parse_timestamp(at, tz) if at else None
    with session() as s:
        if when is None:
            changes = grades.recompute_grades(session=s, actor=current_actor())
        else:
            changes = grades.grades_as_of(session=s, at=when)
    if as_json:
        emit_json([asdict(c) for c in changes])
        return
    differ = sum(c.changed for c in changes)
    if when is not None:
        for c in changes:
            if c.changed:
                typer.echo(f"vendor {c.vendor_id} ({c.stall}): {c.grade} as of {at} "
                           f"(current {c.previous})  {c.reason}")
        typer.echo(f"{len(changes)} vendor(s) graded as of {at}, {differ} differ from their "
                   "current grade; current grades unchanged")
        return
    for c in changes:
        if c.changed:
            typer.echo(f"vendor {c.vendor_id} ({c.stall}): {c.previous} → {c.grade}  {c.reason}")
    typer.echo(f"{len(changes)} vendor(s) graded, {differ} changed")


@grades_app.command("plan")
@handle_errors
def plan(market: str | None = typer.Option(None, help="Market code or name (default: all)."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Samples due this month per vendor by grade (D vendors are sampled most)."""
    with session() as s:
        mid = RefCache.load(s).market(market).id if market else None
        rows = grades.sampling_plan(session=s, market_id=mid, tz=load_settings().timezone)
    if as_json:
        emit_json([asdict(r) for r in rows])
        return
    for r in rows:
        typer.echo(f"{r.grade}  market {r.market_id:<4} stall {r.stall:<6} {r.per_month}/month, "
                   f"tested {r.tested_this_month}, due {r.due}")


@grades_app.command("show")
@handle_errors
def show_grade(vendor_id: int = typer.Option(..., "--vendor", help="Vendor id."),
               as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """A vendor's grade, its reason and the grade history."""
    with session() as s:
        grade, reason = grades.current_grade(session=s, vendor_id=vendor_id)
        hist = [h.model_dump() for h in grades.grade_history(session=s, vendor_id=vendor_id)]
    if as_json:
        emit_json({"vendor_id": vendor_id, "grade": grade, "reason": reason, "history": hist})
        return
    typer.echo(f"grade {grade}: {reason}")
    for h in hist:
        typer.echo(f"  {h['decided_at']:%Y-%m-%d %H:%M} (as of {h['computed_at']:%Y-%m-%d})  "
                   f"{h['previous']} → {h['grade']}  {h['reason']}")


@handle_errors
def agreement(method: str | None = typer.Option(None, help="Rapid method (kit) code; "
                                                           "default: every method."),
              by: str = typer.Option("method", help="method, lot (kit lot) or instrument."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Rapid method vs lab: 2×2 table, sensitivity, specificity, McNemar (KJ 201902 annex A)."""
    with session() as s:
        rows = agreement_svc.agreement_report(session=s, method=method, by=by)
    if as_json:
        emit_json([{**asdict(r), "stats": {**asdict(r.stats), "n": r.stats.n}} for r in rows])
        return
    if not rows:
        typer.echo("no rapid result has a confirmatory lab result yet")
    for r in rows:
        st = r.stats
        group = "" if by == "method" else f" · {r.group or '(none)'}"
        typer.echo(f"{r.method}{group} ({r.method_name}): {r.pairs} pairs")
        typer.echo(f"              rapid+  rapid−\n  lab +  {st.n11:>8} {st.n12:>7}\n"
                   f"  lab −  {st.n21:>8} {st.n22:>7}")
        chi = f"{st.mcnemar_chi2:.3f} (p = {st.mcnemar_p:.4f})" if st.mcnemar_chi2 is not None \
            else "— (no discordant pairs)"
        typer.echo(f"  sensitivity {_pct(st.sensitivity)}  specificity {_pct(st.specificity)}  "
                   f"FN {_pct(st.false_negative_rate)}  FP {_pct(st.false_positive_rate)}  "
                   f"accuracy {_pct(st.relative_accuracy)}  McNemar χ² {chi}")


@events_app.command("report")
@handle_errors
def events_report(year: int = typer.Option(..., help="Calendar year."),
                  monthly: bool = typer.Option(True, "--monthly/--yearly",
                                               help="Per month (default) or per year."),
                  csv_out: Path | None = typer.Option(None, "--csv", help="Also write CSV here."),
                  as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Per team: events, service hours, people served, samples, instruments verified, talks."""
    with session() as s:
        rows = events.team_report(session=s, year=year, by_month=monthly,
                                  tz=load_settings().timezone)
    if csv_out is not None:
        csv_out.write_text(events.report_csv(rows), encoding="utf-8")
    if as_json:
        emit_json([asdict(r) for r in rows])
        return
    for r in rows:
        typer.echo(f"{r.period}  {r.team}: {r.events} events, {r.service_hours:g} service hours, "
                   f"{r.people_served} people, {r.samples_tested} samples, "
                   f"{r.instruments_verified} instruments verified, {r.talks} talks "
                   f"({r.active_volunteers}/{r.registered_volunteers} volunteers active)")
    total_e = sum(r.events for r in rows)
    total_h = sum(r.service_hours for r in rows)
    typer.echo(f"total {year}: {total_e} events, {total_h:g} service hours")


@handle_errors
def board(market: str = typer.Option(..., help="Market code or name."),
          on: str | None = typer.Option(None, help="Day (YYYY-MM-DD); default today."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The market's public result board (公示): today's and this week's results."""
    from datetime import date

    day = date.fromisoformat(on) if on else None
    with session() as s:
        b = board_svc.market_board(session=s, market=market, on=day, tz=load_settings().timezone)
    if as_json:
        emit_json(asdict(b))
        return
    typer.echo(f"{b.market} 快检结果公示 {b.day}")
    for title, rows in (("今日 today", b.today), ("本周 this week", b.week)):
        typer.echo(f"— {title}: {len(rows)}")
        for r in rows:
            typer.echo(f"  {r.tested_at.astimezone(load_settings().timezone):%m-%d %H:%M}  "
                       f"{r.commodity_zh:<6} {r.stall:<6} {r.verdict_zh}  {' '.join(r.handling)}")


@handle_errors
def field_test(commodity: str = typer.Option(..., help="Commodity (Chinese or English)."),
               market: str | None = typer.Option(None, help="Market code or name."),
               event: int | None = typer.Option(None, help="Outreach event id."),
               stall: str | None = typer.Option(None, help="Vendor stall."),
               resident: bool = typer.Option(False, "--resident",
                                             help="A resident's purchase (no vendor)."),
               card: str | None = typer.Option(None, help="Test-card colour (unchanged, "
                                                          "faint_blue, sky_blue …)."),
               method: str | None = typer.Option(None, help="Method of an instrument reading."),
               control_delta: float | None = typer.Option(None, help="Enzyme ΔA0."),
               sample_delta: float | None = typer.Option(None, help="Enzyme ΔAt."),
               t: float | None = typer.Option(None, "--t", help="Gold strip T line."),
               c: float | None = typer.Option(None, "--c", help="Gold strip C line."),
               at: str | None = typer.Option(None, help="Test time (ISO 8601); default now."),
               as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Test at the stand: store the reading, open a case/alert for a positive, show the verdict."""
    reading = None
    if control_delta is not None or sample_delta is not None:
        reading = {"control_delta": control_delta, "sample_delta": sample_delta}
    elif t is not None or c is not None:
        reading = {"t": t, "c": c}
    tz = load_settings().timezone
    with session() as s:
        out = record_field_test(session=s, actor=current_actor(), commodity=commodity,
                                event_id=event, market=market, vendor_stall=stall,
                                resident_purchase=resident, method=method, reading=reading,
                                card_colour=card,
                                tested_at=parse_timestamp(at, tz) if at else None)
    if as_json:
        emit_json(asdict(out))
        return
    typer.echo(f"{out.verdict.upper()}  sample {out.sample_code}  {out.public_url}")
    if out.vendor_grade:
        typer.echo(f"vendor {out.vendor_stall}: grade {out.vendor_grade} — {out.vendor_grade_reason}")
    if out.case_id:
        typer.echo(f"case {out.case_id} opened (objection clock starts when the vendor is told)")
    if out.alert_id:
        typer.echo(f"alert {out.alert_id} raised to the market's grid group")
