"""`lims correct` / `lims void`: amend or void a stored result, always with a reason."""

from __future__ import annotations

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.intake.corrections import TEXT_RAW, correct_result, parse_number, void_result

_TRUE, _FALSE = {"true", "yes", "1", "是"}, {"false", "no", "0", "否"}


def _parse_set(items: list[str]) -> dict:
    """KEY=VALUE pairs: numbers parsed strictly (no ``nan``, ``inf`` or ``1_0``); the service
    refuses keys the method does not have and values of the wrong kind."""
    raw: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected KEY=VALUE, e.g. sample_delta=0.21")
        text = value.strip()
        if text == "":
            raw[key.strip()] = None  # removes the key
            continue
        key = key.strip()
        if key in TEXT_RAW:
            raw[key] = text
        elif key == "blank_ok" and text.lower() in _TRUE | _FALSE:
            raw[key] = text.lower() in _TRUE
        else:
            try:
                raw[key] = parse_number(text)
            except ValueError:
                raw[key] = text      # refused by the service, with the key's name
    return raw


def _summary(tr) -> dict:
    return {"result_id": tr.id, "raw": tr.raw, "verdict": tr.verdict,
            "computed_value": tr.computed_value, "status": tr.status}


@handle_errors
def correct(result_id: int = typer.Argument(..., help="The test result's id."),
            sets: list[str] = typer.Option(..., "--set",
                                           help="A corrected raw value, KEY=VALUE (repeatable); "
                                                "KEY= removes the key."),
            reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
            as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Correct a result's raw values; the verdict is recomputed and the change audited."""
    actor = current_actor()
    raw = _parse_set(sets)
    with session() as s:
        data = _summary(correct_result(session=s, actor=actor, result_id=result_id, raw=raw,
                                       reason=reason))
    if as_json:
        emit_json(data)
    else:
        typer.echo(f"result {result_id} corrected: {data['raw']} → {data['verdict']}")


@handle_errors
def void(result_id: int = typer.Argument(..., help="The test result's id."),
         reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
         as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Void a result: kept, never deleted, out of every statistic."""
    actor = current_actor()
    with session() as s:
        data = _summary(void_result(session=s, actor=actor, result_id=result_id, reason=reason))
    if as_json:
        emit_json(data)
    else:
        typer.echo(f"result {result_id} voided")
