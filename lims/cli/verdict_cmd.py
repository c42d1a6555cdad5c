"""`lims verdict …`: judge one reading by hand, with the reasons.

Every subcommand builds the raw values a stored result would carry and judges them through the
same dispatcher as the intake pipeline (``lims.verdicts.judge_reading``) with the method row from
the database, so the method's warnings (matrix interference, enzyme blind spots …) appear here
too, in the text and in ``--json``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import typer

from lims.cli.common import emit_json, handle_errors, session
from lims.models import Method
from lims.models.enums import MethodKind
from lims.reference.lookup import RefCache
from lims.timeutil import local_date, now
from lims.verdicts import Verdict, judge_reading

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


def _today() -> date:
    """The configured local day (LIMS_TIMEZONE, LIMS_CLOCK): the MRL edition in force on it."""
    return local_date(now())


_YES = ("true", "1", "yes", "y", "ok", "是")
_NO = ("false", "0", "no", "n", "failed", "否")


def _blank_ok(blank_ok: str | None, blank_failed: bool) -> bool:
    """Whether the blank card turned blue: ``--blank-failed`` or ``--blank-ok false`` say no."""
    if blank_ok is None:
        return not blank_failed
    word = blank_ok.strip().lower()
    if word not in _YES + _NO:
        raise ValueError(f"--blank-ok {blank_ok!r}: give true or false")
    ok = word in _YES
    if ok and blank_failed:
        raise ValueError("--blank-failed contradicts --blank-ok true: give one of them")
    return ok


def _judge_with(cache: RefCache, m: Method, kind: str, raw: dict[str, Any], *,
                commodity: str | None = None) -> Verdict:
    """Judge ``raw`` with the stored method ``m``, which must be of ``kind``."""
    if m.kind != kind:
        raise ValueError(f"method {m.code} is a {m.kind} method; this command judges "
                         f"{kind} methods")
    analyte = cache.analyte_by_id.get(m.analyte_id) if m.analyte_id is not None else None
    return judge_reading(m.kind, raw, m.params, method_code=m.code,
                         commodity=cache.commodity(commodity) if commodity else None,
                         analyte=analyte, on=_today(), limit_for=cache.limit)


@app.command("enzyme")
@handle_errors
def enzyme(control_delta: float = typer.Option(..., "--control-delta", help="Control ΔA0."),
           sample_delta: float = typer.Option(..., "--sample-delta", help="Sample ΔAt."),
           method: str = typer.Option("ENZ-5009.199", help="Method code (its parameters apply)."),
           commodity: str | None = typer.Option(
               None, help="Commodity tested (Chinese or English name): warns when it inhibits "
                          "the enzyme on its own."),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Enzyme inhibition: inhibition % and verdict."""
    with session() as s:
        cache = RefCache.load(s)
        v = _judge_with(cache, cache.method(method), MethodKind.ENZYME_INHIBITION,
                        {"control_delta": control_delta, "sample_delta": sample_delta},
                        commodity=commodity)
    _show(v, as_json)


@app.command("gold")
@handle_errors
def gold(t: float = typer.Option(..., "--t", help="T line intensity."),
         c: float = typer.Option(..., "--c", help="C line intensity."),
         kit: str = typer.Option(..., "--kit", help="Kit (method) code, e.g. KJ-GOLD-CBF."),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Colloidal gold: T/C against the kit's cut-off and direction."""
    with session() as s:
        cache = RefCache.load(s)
        v = _judge_with(cache, cache.method(kit), MethodKind.COLLOIDAL_GOLD, {"t": t, "c": c})
    _show(v, as_json)


@app.command("card")
@handle_errors
def card(colour: str = typer.Option(..., "--colour", help="unchanged, faint_blue, sky_blue …"),
         method: str = typer.Option("ENZ-CARD", help="Method code."),
         blank_failed: bool = typer.Option(
             False, "--blank-failed", help="The blank card did not turn blue (test invalid)."),
         blank_ok: str | None = typer.Option(
             None, "--blank-ok", help="Did the blank card turn blue? true (default) or false."),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Enzyme test card: pad colour compared with the blank (a failed blank → invalid)."""
    raw = {"colour": colour, "blank_ok": _blank_ok(blank_ok, blank_failed)}
    with session() as s:
        cache = RefCache.load(s)
        v = _judge_with(cache, cache.method(method), MethodKind.TEST_CARD, raw)
    _show(v, as_json)


@app.command("mrl")
@handle_errors
def mrl(analyte: str = typer.Option(..., help="Pesticide (Chinese or English name)."),
        commodity: str = typer.Option(..., help="Commodity (Chinese or English name)."),
        value: float = typer.Option(..., "--value", help="Measured concentration."),
        unit: str = typer.Option("mg/kg", help="Unit of --value."),
        standard: str | None = typer.Option(None, help="Edition, e.g. 'GB 2763-2021'; default: "
                                                        "the edition in force on --on."),
        on: str | None = typer.Option(None, help="Date the edition must be in force (YYYY-MM-DD); "
                                                 "default: today in LIMS_TIMEZONE."),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Quantitative result against the MRL of the right GB 2763 edition (the commodity's own row,
    else its group's or category's; the reasons say which, and whether it is unconfirmed)."""
    day = date.fromisoformat(on) if on else _today()
    with session() as s:
        cache = RefCache.load(s)
        a, c = cache.analyte(analyte), cache.commodity(commodity)
        v = judge_reading(MethodKind.LAB_QUANTITATIVE, {"value": value, "unit": unit}, {},
                          method_code="mrl", commodity=c, analyte=a, on=day,
                          limit_for=cache.limit, standard=standard)
    _show(v, as_json)
