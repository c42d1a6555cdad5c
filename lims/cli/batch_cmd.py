"""`lims batch` (samples on an analyzer's channels) and `lims readings` (the unbound queue)."""

from __future__ import annotations

from dataclasses import asdict

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.errors import InvalidInput
from lims.intake import batches, unbound
from lims.timeutil import parse_timestamp

batch_app = typer.Typer(help="Batches: samples on an instrument's channels.",
                        no_args_is_help=True)
readings_app = typer.Typer(help="Readings that found no sample (the unbound queue).",
                           no_args_is_help=True)


def _print_batch(v: batches.BatchView) -> None:
    typer.echo(f"batch {v.id} on {v.instrument}: opened {v.opened_at:%Y-%m-%d %H:%M}"
               + (f", closed {v.closed_at:%Y-%m-%d %H:%M}" if v.closed_at else " (open)"))
    for s in v.slots:
        typer.echo(f"  channel {s['channel']:>3}: {'control' if s['control'] else s['sample_code']}")


@batch_app.command("open")
@handle_errors
def open_(instrument: str = typer.Option(..., help="Instrument serial number."),
          channel: list[str] = typer.Option([], help="CHANNEL=SAMPLE_CODE, repeatable."),
          control: str | None = typer.Option(None, help="The control's channel."),
          at: str | None = typer.Option(None, help="Opened at (default now)."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Put registered samples on the instrument's channels (its previous batch closes)."""
    pairs = {}
    for c in channel:
        ch, sep, code = c.partition("=")
        if not sep or not ch.strip() or not code.strip():
            raise InvalidInput(f"--channel {c!r}: give CHANNEL=SAMPLE_CODE, e.g. 3=K7Q2M9XD")
        pairs[ch.strip()] = code.strip()
    with session() as s:
        v = batches.open_batch(session=s, actor=current_actor(), instrument_serial=instrument,
                               channels=pairs, control=control,
                               at=parse_timestamp(at) if at else None)
    if as_json:
        emit_json(asdict(v))
    else:
        _print_batch(v)


@batch_app.command("show")
@handle_errors
def show(batch_id: int = typer.Argument(..., help="Batch id."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """A batch and what sits on each channel."""
    with session() as s:
        v = batches.batch_view(session=s, batch_id=batch_id)
    if as_json:
        emit_json(asdict(v))
    else:
        _print_batch(v)


@batch_app.command("close")
@handle_errors
def close(batch_id: int = typer.Argument(..., help="Batch id."),
          at: str | None = typer.Option(None, help="Closed at (default now)."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Close a batch: readings after this no longer land on its samples."""
    with session() as s:
        v = batches.close_batch(session=s, actor=current_actor(), batch_id=batch_id,
                                at=parse_timestamp(at) if at else None)
    if as_json:
        emit_json(asdict(v))
    else:
        _print_batch(v)


@readings_app.command("unbound")
@handle_errors
def unbound_list(status: str = typer.Option("waiting", help="waiting, bound, voided or all."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Readings waiting for a sample."""
    with session() as s:
        rows = unbound.list_unbound(session=s, status=status)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']:>5}  {r['instrument'] or '—'} ch {r['channel'] or '—'}  "
                   f"{r['tested_at']:%Y-%m-%d %H:%M}  {r['method']}  {r['reason']}")
    typer.echo(f"{len(rows)} reading(s)")


@readings_app.command("bind")
@handle_errors
def bind(unbound_id: int = typer.Argument(..., help="Unbound reading id."),
         sample: str = typer.Option(..., help="Sample code to bind it to."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Bind a waiting reading to a sample: it is judged and stored on it now."""
    from lims.wire.readings import ReadingAccepted

    with session() as s:
        st = unbound.bind_unbound(session=s, actor=current_actor(), unbound_id=unbound_id,
                                  sample_code=sample)
        out = ReadingAccepted.of(st).model_dump()
    if as_json:
        emit_json(out)
    else:
        typer.echo(f"reading {unbound_id} → result {out['result_id']} on {out['sample_code']}: "
                   f"{out['verdict']}")


@readings_app.command("void")
@handle_errors
def void(unbound_id: int = typer.Argument(..., help="Unbound reading id."),
         reason: str = typer.Option(..., help="Why it does not count.")) -> None:
    """Void a waiting reading (kept, marked voided, with the reason)."""
    with session() as s:
        unbound.void_unbound(session=s, actor=current_actor(), unbound_id=unbound_id,
                             reason=reason)
    typer.echo(f"reading {unbound_id} voided")
