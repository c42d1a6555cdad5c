"""`lims calibration …`: record calibrations, list what is due, print certificates."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.cli.metrology_cmd import load_readings
from lims.metrology import calibration as cal
from lims.metrology import certificate
from lims.timeutil import parse_timestamp

app = typer.Typer(help="Calibration records of instruments: record, due list, certificates.",
                  no_args_is_help=True)


def parse_days(text: str) -> int:
    """'30d', '30', '6w' → days."""
    m = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", text.lower())
    if not m:
        raise ValueError(f"--within: expected a number of days like 30d or 6w, got {text!r}")
    return int(m.group(1)) * (7 if m.group(2) == "w" else 1)


@app.command("due")
@handle_errors
def due(within: str = typer.Option("30d", "--within", help="Window: 30d, 6w …"),
        as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Instruments that failed, were never calibrated, are overdue or fall due within the window."""
    days = parse_days(within)
    with session() as s:
        rows = cal.due(session=s, within_days=days)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo(f"nothing due within {days} days")
    for r in rows:
        when = (r["due_date"].isoformat() if r["due_date"] else
                "— (last record failed)" if r["state"] == "failed" else "— (never calibrated)")
        left = f" ({r['days_left']:+d} d)" if r["days_left"] is not None else ""
        typer.echo(f"{r['state']:8} {r['serial_no']:16} {r['model']:16} due {when}{left}")


@app.command("record")
@handle_errors
def record(instrument: str = typer.Option(..., "--instrument", help="Serial number."),
           kind: str = typer.Option(..., "--kind", help="verification, calibration, "
                                    "intermediate_check or daily_qc."),
           readings: Path = typer.Option(..., "--readings", help="JSON file of every reading "
                                         "(see docs in lims/metrology/calibration.py)."),
           at: str | None = typer.Option(None, "--at", help="When (ISO-8601; default now)."),
           by: str | None = typer.Option(None, "--by", help="Who performed it (default you)."),
           standard: str = typer.Option("", "--standard", help="Standard applied (default: the "
                                        "reference data's edition)."),
           reference_equipment: str = typer.Option("", "--reference-equipment",
                                                   help="Reference weights/manometer/filters."),
           outcome: str | None = typer.Option(None, "--outcome", help="pass/fail, only for "
                                              "instrument kinds with no computed procedure."),
           notes: str = typer.Option("", "--notes", help="Free text."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Record a calibration/verification/check; the outcome is computed from the readings.
    Exit 0 pass, 1 fail."""
    data = load_readings(readings)
    if not isinstance(data, dict):
        raise ValueError(f"{readings}: expected a JSON object")
    actor = current_actor()
    with session() as s:
        rec = cal.record(session=s, actor=actor, serial_no=instrument, kind=kind, readings=data,
                         performed_at=parse_timestamp(at) if at else None, performed_by=by,
                         standard=standard, reference_equipment=reference_equipment,
                         notes=notes, outcome=outcome)
        out = {"id": rec.id, "instrument": instrument, "kind": rec.kind, "outcome": rec.outcome,
               "due_date": rec.due_date, "report": rec.report}
    if as_json:
        emit_json(out)
    else:
        due_txt = f", due {out['due_date']}" if out["due_date"] else ""
        typer.echo(f"record {out['id']}: {out['kind']} {out['outcome'].upper()}{due_txt}")
        for c in out["report"].get("checks", []):
            if not c["passed"]:
                typer.echo(f"  [FAIL] {c['name']}: {c['message']}")
    raise typer.Exit(0 if out["outcome"] == "pass" else 1)


@app.command("certificate")
@handle_errors
def certificate_cmd(record_id: int = typer.Option(..., "--record", help="Calibration record id."),
                    out: Path = typer.Option(..., "--out", help="PDF file to write."),
                    font: Path | None = typer.Option(None, "--font", help="CJK font file "
                                                     "(default: found with fc-list :lang=zh)."),
                    as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Write the PDF certificate of a passing verification/calibration record."""
    with session() as s:
        cert = certificate.write_certificate(session=s, record_id=record_id, out=out,
                                            font_file=font)
    if cert.warning:
        typer.secho(f"warning: {cert.warning}", fg=typer.colors.YELLOW, err=True)
    if as_json:
        emit_json({"record": cert.record_id, "path": str(cert.path), "cjk": cert.cjk,
                   "warning": cert.warning})
    else:
        typer.echo(f"wrote {cert.path}")
