"""`lims verdict …`: judge one reading by hand, with the reasons."""

from __future__ import annotations

from datetime import date

import typer

from lims.cli.common import emit_json, handle_errors, session
from lims.reference.lookup import RefCache
from lims.verdicts import Verdict, judge_card, judge_enzyme, judge_gold, judge_mrl

app = typer.Typer(help="Judge a single reading with the verdict engine.", no_args_is_help=True)


def _show(v: Verdict, as_json: bool) -> None:
    if as_json:
        emit_json(v.to_dict())
        return
    value = f" ({v.value:g} {v.unit})" if v.value is not None else ""
    typer.echo(f"{v.outcome.value.upper()}{value}")
    for r in v.reasons:
        typer.echo(f"  - {r}")
    for w in v.warnings:
        typer.echo(f"  ! {w}")


@app.command("enzyme")
@handle_errors
def enzyme(control_delta: float = typer.Option(..., "--control-delta", help="Control ΔA0."),
           sample_delta: float = typer.Option(..., "--sample-delta", help="Sample ΔAt."),
           method: str = typer.Option("ENZ-5009.199", help="Method code (its parameters apply)."),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Enzyme inhibition: inhibition % and verdict."""
    with session() as s:
        m = RefCache.load(s).method(method)
    _show(judge_enzyme(control_delta, sample_delta, m.params, method=m.code), as_json)


@app.command("gold")
@handle_errors
def gold(t: float = typer.Option(..., "--t", help="T line intensity."),
         c: float = typer.Option(..., "--c", help="C line intensity."),
         kit: str = typer.Option(..., "--kit", help="Kit (method) code, e.g. KJ-GOLD-CBF."),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Colloidal gold: T/C against the kit's cut-off and direction."""
    with session() as s:
        m = RefCache.load(s).method(kit)
    _show(judge_gold(t, c, m.params, method=m.code), as_json)


@app.command("card")
@handle_errors
def card(colour: str = typer.Option(..., "--colour", help="unchanged, faint_blue, sky_blue …"),
         method: str = typer.Option("ENZ-CARD", help="Method code."),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Enzyme test card: pad colour compared with the blank."""
    with session() as s:
        m = RefCache.load(s).method(method)
    _show(judge_card(colour, m.params, method=m.code), as_json)


@app.command("mrl")
@handle_errors
def mrl(analyte: str = typer.Option(..., help="Pesticide (Chinese or English name)."),
        commodity: str = typer.Option(..., help="Commodity (Chinese or English name)."),
        value: float = typer.Option(..., "--value", help="Measured concentration."),
        unit: str = typer.Option("mg/kg", help="Unit of --value."),
        standard: str | None = typer.Option(None, help="Edition, e.g. 'GB 2763-2021'; default: "
                                                        "the edition in force on --on."),
        on: str | None = typer.Option(None, help="Date the edition must be in force (YYYY-MM-DD)."),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Quantitative result against the MRL of the right GB 2763 edition."""
    day = date.fromisoformat(on) if on else date.today()
    with session() as s:
        cache = RefCache.load(s)
        a, c = cache.analyte(analyte), cache.commodity(commodity)
        limit = cache.limit(a, c, day, standard)
    _show(judge_mrl(value, unit, limit, analyte=a.name_en, commodity=c.name_en), as_json)
