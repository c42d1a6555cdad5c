"""`lims metrology …`: MPE look-ups and verification reports from a file of readings (no database).

Exit codes of verify-*: 0 the instrument passes, 1 it fails, 2 bad input.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import typer

from calibration import bp as cal_bp
from calibration import weighing as cal_weighing
from calibration.curve import fit_line
from calibration.refdata import load_weighing
from calibration.report import Report
from lims.cli.common import emit_json, handle_errors

app = typer.Typer(help="Legal metrology: MPE of weighing instruments, scale and BP-meter "
                       "verification reports, calibration curves.", no_args_is_help=True)

def load_readings(path: Path) -> dict[str, Any] | list[dict[str, Any]]:
    """A JSON document, or a CSV file (one reading a row, header names the fields)."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path}: give a .json or .csv file")
    rows = []
    for row in csv.DictReader(text.splitlines()):
        rows.append({k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()})
    return rows


def _csv_scale(rows: list[dict[str, str]], path: Path) -> dict[str, list[dict]]:
    """CSV rows with a ``test`` column (weighing, eccentricity, …) → readings by test."""
    out: dict[str, list[dict]] = {}
    for i, r in enumerate(rows, start=2):
        test = r.pop("test", "")
        if not test:
            raise ValueError(f"{path} line {i}: test column empty (weighing, eccentricity, "
                             "repeatability, discrimination, standard_weights)")
        out.setdefault(test, []).append(r)
    return out


def show_report(rep: Report, as_json: bool) -> None:
    if as_json:
        emit_json(rep.to_dict())
    else:
        typer.echo(f"{rep.kind}: {rep.outcome.upper()}  ({rep.reference.get('edition', '')})")
        for c in rep.checks:
            typer.echo(f"  [{'pass' if c.passed else 'FAIL'}] {c.name}: {c.message}")
    raise typer.Exit(0 if rep.passed else 1)


@app.command("mpe")
@handle_errors
def mpe(accuracy_class: str = typer.Option(..., "--class", help="Accuracy class I, II, III "
                                           "or IIII."),
        e: float = typer.Option(..., "--e", help="Verification scale interval e (mass unit)."),
        load: float = typer.Option(..., "--load", help="Load, in the same unit as e."),
        in_service: bool = typer.Option(False, "--in-service",
                                        help="In-service MPE (twice the initial MPE)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Maximum permissible error of a weighing instrument for a load (OIML R76 / JJG 539)."""
    ref = load_weighing()
    value = cal_weighing.mpe(load, e=e, accuracy_class=accuracy_class, in_service=in_service,
                             ref=ref)
    out = {"class": accuracy_class.upper(), "e": e, "load": load, "load_e": load / e,
           "in_service": in_service, "mpe": value, "mpe_e": value / e,
           "reference": ref.provenance.to_dict()}
    if as_json:
        emit_json(out)
    else:
        typer.echo(f"MPE ±{value:g} (±{value / e:g} e) at {load:g} = {load / e:g} e, class "
                   f"{accuracy_class.upper()}, {'in service' if in_service else 'initial'}")


@app.command("verify-scale")
@handle_errors
def verify_scale(file: Path = typer.Argument(..., help="Readings: JSON {instrument, weighing, "
                                             "eccentricity, …} or CSV with a test column."),
                 max_: float | None = typer.Option(None, "--max", help="Max capacity."),
                 e: float | None = typer.Option(None, "--e", help="Verification interval e."),
                 d: float | None = typer.Option(None, "--d", help="Display interval d "
                                                "(default e)."),
                 accuracy_class: str | None = typer.Option(None, "--class",
                                                           help="Accuracy class."),
                 unit: str | None = typer.Option(None, "--unit", help="Mass unit, e.g. g, kg."),
                 in_service: bool = typer.Option(False, "--in-service", help="In-service MPE."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Full scale verification: class, weighing test points, eccentricity, repeatability,
    discrimination, standard weights. Exit 0 pass, 1 fail."""
    data = load_readings(file)
    if isinstance(data, list):
        data = _csv_scale(data, file)
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a JSON object of tests")
    spec_in = dict(data.get("instrument") or {})
    for k, v in (("max", max_), ("e", e), ("d", d), ("class", accuracy_class), ("unit", unit)):
        if v is not None:
            spec_in[k] = v
    if in_service:
        spec_in["in_service"] = True
    spec = cal_weighing.parse_spec(spec_in)
    readings = cal_weighing.parse_readings({k: v for k, v in data.items() if k != "instrument"})
    show_report(cal_weighing.verify_scale(spec, readings), as_json)


@app.command("verify-bp")
@handle_errors
def verify_bp(file: Path = typer.Argument(..., help="Points: JSON {points: [{reference, "
                                          "indicated}], unit, kind, zero} or CSV reference,"
                                          "indicated."),
              unit: str | None = typer.Option(None, "--unit", help="mmHg (default) or kPa."),
              in_service: bool = typer.Option(False, "--in-service", help="In-service limits."),
              mode: str | None = typer.Option(None, "--mode", help="Verification mode: initial "
                                              "(default), subsequent or in_service."),
              kind: str | None = typer.Option(None, "--kind", help="automated (JJG 692), "
                                              "aneroid or mercury (JJG 270; mercury also "
                                              "checks the zero)."),
              zero: float | None = typer.Option(None, "--zero", help="Mercury zero reading."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Static pressure check of a blood-pressure meter against a reference. Exit 0 pass, 1 fail."""
    data = load_readings(file)
    doc = {"points": data} if isinstance(data, list) else data
    rep = cal_bp.verify_bp(doc.get("points") or [], unit=unit or doc.get("unit", "mmHg"),
                           in_service=in_service or bool(doc.get("in_service", False)),
                           mode=mode or doc.get("mode"),
                           kind=kind or doc.get("kind", "automated"),
                           zero=zero if zero is not None else doc.get("zero"))
    show_report(rep, as_json)


@app.command("curve")
@handle_errors
def curve(file: Path = typer.Argument(..., help="Standards: JSON {x: [..], y: [..], weights: "
                                      "[..]} or CSV with columns x, y[, weight]."),
          y0: list[float] = typer.Option([], "--y0", help="Read x back from this response "
                                         "(repeat the option for several)."),
          replicates: int = typer.Option(1, "--replicates", help="Readings averaged into y0."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Fit a straight calibration line (weighted when weights are given) and read x back with
    its uncertainty."""
    data = load_readings(file)
    if isinstance(data, list):
        data = {"x": [r.get("x") for r in data], "y": [r.get("y") for r in data],
                "weights": ([r.get("weight") for r in data]
                            if any("weight" in r for r in data) else None)}
    nums: dict[str, list[float] | None] = {}
    for key in ("x", "y", "weights"):
        vals = data.get(key)
        if vals is None and key == "weights":
            nums[key] = None
            continue
        if not isinstance(vals, list):
            raise ValueError(f"{file}: {key} must be a list of numbers")
        try:
            nums[key] = [float(v) for v in vals]
        except (TypeError, ValueError):
            bad = next(i for i, v in enumerate(vals, 1) if not _is_number(v))
            raise ValueError(f"{file}: {key} #{bad} is not a number: {vals[bad - 1]!r}") from None
    fit = fit_line(nums["x"], nums["y"], nums["weights"])
    backs = [fit.read_back(v, replicates=replicates) for v in y0]
    if as_json:
        emit_json({"fit": fit.to_dict(), "read_back": backs})
        return
    typer.echo(f"y = {fit.intercept:.6g} + {fit.slope:.6g}·x   r² = {fit.r2:.6f}   "
               f"s(y/x) = {fit.s_yx:.4g}   n = {fit.n}{'  (weighted)' if fit.weighted else ''}")
    for b in backs:
        typer.echo(f"  y0 = {b['y0']:g} → x0 = {b['x0']:.4g} ± {b['s_x0']:.2g} (s); "
                   f"95 % CI {b['ci_low']:.4g} … {b['ci_high']:.4g}")


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True
