"""`lims qc …`: daily quality control series and Westgard rules."""

from __future__ import annotations

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.metrology import calibration as cal
from lims.timeutil import now, parse_timestamp

app = typer.Typer(help="Daily QC: control series per instrument, Levey–Jennings and Westgard.",
                  no_args_is_help=True)


@app.command("check")
@handle_errors
def check(instrument: str = typer.Option(..., "--instrument", help="Serial number."),
          control: str | None = typer.Option(None, "--control", help="Control series name "
                                             "(needed when there are several)."),
          channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Westgard rules on the instrument's control series. Exit 0 ok/warning, 1 reject."""
    with session() as s:
        res = cal.qc_check(session=s, serial_no=instrument, control=control, channel=channel)
    if as_json:
        emit_json(res)
    else:
        b = res["chart"]["baseline"]
        typer.echo(f"{res['instrument']} {res['control']}: {res['status'].upper()} "
                   f"({res['evaluated']} runs; baseline mean {b['mean']:.4g}, SD {b['sd']:.3g}, "
                   f"n {b['n']})")
        for v in res["violations"]:
            typer.echo(f"  {v['message']}")
    raise typer.Exit(1 if res["status"] == "reject" else 0)


@app.command("add")
@handle_errors
def add(instrument: str = typer.Option(..., "--instrument", help="Serial number."),
        values: str = typer.Option(..., "--values", help="Comma-separated control values."),
        control: str = typer.Option(cal.DEFAULT_CONTROL, "--control", help="Control series."),
        at: str | None = typer.Option(None, "--at", help="When (ISO-8601; default now)."),
        baseline: bool = typer.Option(False, "--baseline", help="Values set mean and SD."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Append control values to an instrument's QC series (e.g. the baseline)."""
    nums = []
    for i, v in enumerate(values.split(","), start=1):
        try:
            nums.append(float(v))
        except ValueError:
            raise ValueError(f"--values item {i}: not a number: {v!r}") from None
    when = parse_timestamp(at) if at else now()
    with session() as s:
        n = cal.add_qc_values(session=s, actor=current_actor(), serial_no=instrument,
                              values=[(when, x) for x in nums], control=control,
                              baseline=baseline)
    if as_json:
        emit_json({"instrument": instrument, "control": control, "added": n,
                   "baseline": baseline})
    else:
        typer.echo(f"added {n} value(s) to {instrument} {control}")
