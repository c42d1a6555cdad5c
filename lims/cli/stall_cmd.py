"""`lims stall`: a stall's public page (一户一码) and its printable placard."""

from __future__ import annotations

from pathlib import Path

import typer

from lims.cli.common import emit_json, handle_errors, session
from lims.field import placards
from lims.field.board import stall_view

app = typer.Typer(help="Stalls: the public page (一户一码) and its placard.", no_args_is_help=True)


@app.command("placard")
@handle_errors
def placard(market: str = typer.Option(..., help="Market code or name."),
            stall: str = typer.Option(..., help="The stall in that market."),
            out: Path = typer.Option(..., help="Output PDF file."),
            fmt: str = typer.Option("a4", "--format", help="a4 or a5."),
            base_url: str | None = typer.Option(None, help="Public address of the app "
                                                           "(default LIMS_PUBLIC_BASE_URL).")
            ) -> None:
    """Write the stall's placard: a PDF with the QR code of its public page."""
    with session() as s:
        d = placards.placard_data(session=s, market=market, stall=stall, base_url=base_url)
        data = placards.placard_pdf(session=s, market=market, stall=stall, fmt=fmt,
                                    base_url=base_url)
    out.write_bytes(data)
    typer.echo(f"placard written: {out} ({d.market} {d.stall}: {d.url})")


@app.command("show")
@handle_errors
def show(market: str = typer.Option(..., help="Market code or name."),
         stall: str = typer.Option(..., help="The stall in that market."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """What the stall's public page shows: grade, reason and recent results."""
    with session() as s:
        v = stall_view(session=s, market=market, stall=stall)
    if as_json:
        emit_json({"market": v.market_code, "stall": v.stall, "name": v.name, "grade": v.grade,
                   "reason": v.reason_en, "reason_zh": v.reason_zh,
                   "results": [{"code": r.code, "tested_at": r.tested_at,
                                "commodity": r.commodity_en, "method": r.method_en,
                                "verdict": r.verdict} for r in v.results]})
        return
    typer.echo(f"{v.market} {v.stall} {v.name}: grade {v.grade} ({v.reason_en or 'not graded'})")
    for r in v.results:
        typer.echo(f"  {r.tested_at:%Y-%m-%d %H:%M}  {r.code}  {r.commodity_en}  {r.verdict}")
