"""`lims samples`: register a sample at the stall and print its labels."""

from __future__ import annotations

from pathlib import Path

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.field import labels
from lims.field.samples import register_sample
from lims.files.output import write_output
from lims.timeutil import parse_timestamp

app = typer.Typer(help="Samples: registration at the stall, labels.", no_args_is_help=True)


@app.command("register")
@handle_errors
def register(market: str | None = typer.Option(None, help="Market code or name."),
             stall: str | None = typer.Option(None, help="Vendor's stall in that market."),
             commodity: str = typer.Option(..., help="Commodity (Chinese or English)."),
             event: int | None = typer.Option(None, help="Outreach event id."),
             resident: bool = typer.Option(False, help="A resident's purchase (no stall)."),
             at: str | None = typer.Option(None, help="When it was taken (default now; no "
                                                      "offset = local time)."),
             taken_by: str | None = typer.Option(None, help="Who took it (default: you)."),
             as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Register a sample taken at a stall; prints its short code (for the label)."""
    actor = current_actor()
    with session() as s:
        r = register_sample(session=s, actor=actor, commodity=commodity, market=market,
                            vendor_stall=stall, resident_purchase=resident, event_id=event,
                            taken_at=parse_timestamp(at) if at else None, taken_by=taken_by)
    if as_json:
        emit_json({"sample_code": r.sample_code, "id": r.id, "market": r.market,
                   "vendor_stall": r.vendor_stall, "commodity": r.commodity,
                   "taken_at": r.taken_at, "taken_by": r.taken_by})
    else:
        typer.echo(f"sample {r.sample_code}: {r.commodity} from {r.market or '—'} "
                   f"{r.vendor_stall or ''}")


@app.command("label")
@handle_errors
def label(codes: list[str] = typer.Argument(..., help="Sample codes."),
          out: Path = typer.Option(..., help="Output PDF file."),
          fmt: str = typer.Option("58mm", "--format", help="58mm (thermal label) or a4.")) -> None:
    """Write the labels of the samples (QR + Code 128, commodity, stall, time) as a PDF."""
    with session() as s:
        data = labels.labels_pdf(session=s, codes=codes, fmt=fmt)
    write_output(out, data)
    typer.echo(f"labels written: {out} ({len(codes)} label(s), {len(data)} bytes)")
