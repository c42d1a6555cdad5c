"""Instrument commands: `lims listen`, `lims simulate`, `lims instruments decode|drivers`,
`lims journal replay|show`, `lims quarantine list`."""

from __future__ import annotations

import inspect
import logging
import signal
import termios
import threading
from datetime import date
from pathlib import Path

import serial
import typer

from instruments import registry
from instruments.base import AnalyzerReading, Decoded, DecodeError, Discarded, Send, WeightReading
from instruments.simulator import run as run_simulator
from lims.cli.common import current_actor, emit_json, handle_errors, session
from lims.listening import journal as jr
from lims.listening import quarantine
from lims.listening.events import InstrumentContext, reading_dict
from lims.listening.port import Listener
from lims.listening.processor import replay
from lims.security.auth import require
from lims.settings import load_settings
from lims.storage.engine import get_engine

instruments_app = typer.Typer(help="Drivers and captured bytes.", no_args_is_help=True)
journal_app = typer.Typer(help="The raw instrument journal.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Bytes that could not be stored, kept for review.",
                             no_args_is_help=True)


def _profile_dirs() -> tuple[Path, ...]:
    return (load_settings().var_dir / "profiles",)


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@handle_errors
def listen(instrument: str = typer.Option(..., "--instrument", help="Serial number of the instrument."),
           port: str = typer.Option(..., "--port", help="Device path or pyserial URL "
                                    "(socket://host:port, loop://, rfc2217://host:port)."),
           verbose: bool = typer.Option(False, "--verbose", help="Log every chunk.")) -> None:
    """Listen to one instrument: journal every byte, decode, store readings, quarantine the rest.

    Reconnects when the port disappears; resumes exactly where the journal was processed after
    a restart. Stop with Ctrl-C (or SIGTERM).
    """
    _logging(verbose)
    require(current_actor(), "results.import")
    settings = load_settings()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    lst = Listener(engine=get_engine(), serial_no=instrument, port=port,
                   journal_root=settings.journal_dir, tz=settings.timezone,
                   profile_dirs=_profile_dirs(), stop=stop)
    tally = lst.run()
    typer.echo(f"stopped: {tally.results} result(s), {tally.duplicates} duplicate(s), "
               f"{tally.weights} weight(s), {tally.quarantined} quarantined", err=True)


def _factory_kwargs(factory, wanted: dict) -> dict:
    params = inspect.signature(factory).parameters
    core = ("profile", "faults", "count", "interval", "seed", "serial")
    return {k: v for k, v in wanted.items() if k in params or k in core}


@handle_errors
def simulate(driver: str = typer.Argument(..., help=f"Driver name ({', '.join(registry.names())})."),
             port: str = typer.Option(..., "--port", help="Device path or pyserial URL to write to."),
             profile: str = typer.Option(None, "--profile", help="Profile (driver 'profile')."),
             fault: list[str] = typer.Option([], "--fault", help="Fault to inject (repeatable)."),
             count: int = typer.Option(10, "--count", help="Messages to send; 0 = forever."),
             interval: float = typer.Option(0.5, "--interval", help="Seconds between messages."),
             seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same bytes)."),
             serial_no: str = typer.Option(None, "--serial", help="Serial number the instrument prints."),
             byte_time: float = typer.Option(0.0, "--byte-time", help="Seconds per byte (0: at once)."),
             live_clock: bool = typer.Option(False, "--live-clock",
                                             help="Print the current time in records (demo)."),
             tested_unit: list[str] = typer.Option([], "--tested-unit",
                                                   help="Market name the instrument prints "
                                                   "(repeatable; profile simulators)."),
             ) -> None:
    """Run a simulated instrument on a port, speaking the driver's bytes with optional faults."""
    spec = registry.get(driver)
    if spec.make_simulator is None:
        raise ValueError(f"driver {driver!r} has no simulator")
    wanted = {"faults": tuple(fault), "count": count or None, "interval": interval, "seed": seed,
              "serial": serial_no, "byte_time": byte_time, "live_clock": live_clock or None,
              "tested_units": tuple(tested_unit) or None}
    if driver == "profile":
        from instruments.profiles import find_profile, load_profile

        path = str(find_profile(profile or "", _profile_dirs())) if profile else None
        wanted["profile"] = path
        settings = load_profile(path).port_settings() if path else spec.defaults
    else:
        settings = spec.defaults
    sim = spec.make_simulator(**_factory_kwargs(spec.make_simulator, {
        k: v for k, v in wanted.items()
        if k == "count" or (v is not None and not (k == "byte_time" and not v))}))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        opened = serial.serial_for_url(port, **settings.serial_kwargs())
    except (serial.SerialException, OSError) as exc:
        raise ValueError(f"--port: cannot open {port}: {exc}") from None
    with opened as p:
        try:
            run_simulator(sim, p, stop=stop)
            p.flush()
        except (serial.SerialException, OSError, termios.error) as exc:
            raise ValueError(f"port {port}: {exc}") from None
    typer.echo(f"simulator {sim.name}: done", err=True)


def _event_dict(ev) -> dict:
    if isinstance(ev, Decoded):
        r = ev.reading
        if isinstance(r, WeightReading):
            d = {"event": "weight", "value": r.value, "unit": r.unit,
                 "stability": r.stability.value, "mode": r.mode, "header": r.header}
        else:
            assert isinstance(r, AnalyzerReading)
            d = {"event": "reading", **reading_dict(r)}
        return {**d, "raw_hex": r.raw.hex()}
    if isinstance(ev, DecodeError):
        return {"event": "error", "message": ev.message, "raw_hex": ev.raw.hex()}
    if isinstance(ev, Discarded):
        return {"event": "discarded", "why": ev.why, "raw_hex": ev.raw.hex()}
    assert isinstance(ev, Send)
    return {"event": "send", "data_hex": ev.data.hex()}


@instruments_app.command("decode")
@handle_errors
def decode(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Captured bytes."),
           driver: str = typer.Option(..., "--driver", help="Driver name."),
           profile: str = typer.Option(None, "--profile", help="Profile (driver 'profile')."),
           as_json: bool = typer.Option(False, "--json", help="Print the events as JSON.")) -> None:
    """Decode a captured byte file and print what it says (readings, errors, noise)."""
    spec = registry.get(driver)
    if driver == "profile":
        from instruments.profiles import find_profile

        dec = spec.make_decoder(profile=str(find_profile(profile or "", _profile_dirs()))
                                if profile else None)
    else:
        dec = spec.make_decoder()
    data = file.read_bytes()
    events = dec.feed(data, 0.0) + dec.poll(1e9)
    out = [_event_dict(e) for e in events]
    if as_json:
        emit_json(out)
        return
    for d in out:
        if d["event"] == "reading":
            typer.echo(f"reading  sample={d['sample_id']} channel={d['channel']} "
                       f"test={d['test_id']} values={d['values']} verdict={d['verdict']} "
                       f"time={d['tested_at']} serial={d['instrument_serial']}")
        elif d["event"] == "weight":
            typer.echo(f"weight   {d['value']} {d['unit']} {d['stability']} {d['mode']}")
        elif d["event"] == "error":
            typer.echo(f"ERROR    {d['message']}  [{d['raw_hex'][:60]}]")
        elif d["event"] == "discarded":
            typer.echo(f"ignored  {d['why']} ({len(d['raw_hex']) // 2} bytes)")
        else:
            typer.echo(f"reply    {d['data_hex']}")
    n = sum(1 for d in out if d["event"] in ("reading", "weight"))
    typer.echo(f"{n} reading(s), {sum(1 for d in out if d['event'] == 'error')} error(s), "
               f"{len(data)} bytes")


@instruments_app.command("add")
@handle_errors
def add(serial_no: str = typer.Option(..., "--serial", help="Serial number as the instrument prints it."),
        driver: str = typer.Option(..., "--driver", help="profile, astm, ad, mtsics, sbi, ohaus …"),
        profile: str = typer.Option(None, "--profile", help="Profile name (driver 'profile')."),
        model: str = typer.Option("", "--model", help="Make and model."),
        kind: str = typer.Option("pesticide_analyzer", "--kind", help="pesticide_analyzer, "
                                 "card_reader, lab_analyzer, balance, platform_scale, bp_meter."),
        market: str = typer.Option(None, "--market", help="Market code or name where it tests."),
        method: str = typer.Option(None, "--method", help="Default method code."),
        port_settings: str = typer.Option(None, "--port-settings", help="JSON overrides, e.g. "
                                          '\'{"baudrate": 115200}\'.'),
        location: str = typer.Option("", "--location", help="Where it is kept."),
        as_json: bool = typer.Option(False, "--json", help="Print the instrument as JSON.")) -> None:
    """Register an instrument so `lims listen` can read it."""
    import json

    from lims.metrology.instruments import add_instrument
    from lims.models.enums import InstrumentKind

    if kind not in {k.value for k in InstrumentKind}:
        raise ValueError(f"--kind: {kind!r} is not one of {[k.value for k in InstrumentKind]}")
    try:
        overrides = json.loads(port_settings) if port_settings else None
    except json.JSONDecodeError as exc:
        raise ValueError(f"--port-settings: not JSON ({exc})") from None
    actor = current_actor()
    with session() as s:
        inst = add_instrument(session=s, actor=actor, serial_no=serial_no, model=model or driver,
                              kind=kind, driver=driver, profile=profile, market=market,
                              method=method, port_settings=overrides, location=location,
                              profile_dirs=_profile_dirs())
        data = {"id": inst.id, "serial_no": inst.serial_no, "driver": inst.driver,
                "profile": inst.profile, "port_settings": inst.port_settings}
    if as_json:
        emit_json(data)
    else:
        typer.echo(f"instrument {data['serial_no']} registered (id {data['id']})")


@instruments_app.command("drivers")
@handle_errors
def drivers(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List the drivers, their default port settings and the built-in profiles."""
    from instruments.profiles import builtin_names

    rows = [{"driver": n, "description": registry.get(n).description,
             "defaults": registry.get(n).defaults.serial_kwargs()} for n in registry.names()]
    if as_json:
        emit_json({"drivers": rows, "profiles": builtin_names()})
        return
    for r in rows:
        d = r["defaults"]
        typer.echo(f"{r['driver']:<14} {d['baudrate']} {d['bytesize']}{d['parity']}{d['stopbits']:g}"
                   f"  {r['description']}")
    typer.echo("profiles: " + ", ".join(builtin_names()))


@journal_app.command("replay")
@handle_errors
def journal_replay(
        instrument: list[str] = typer.Option([], "--instrument", help="Serial number (repeatable; "
                                             "default: every instrument with a journal)."),
        since: str = typer.Option(None, "--since", help="First day to replay (YYYY-MM-DD, UTC)."),
        as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON.")) -> None:
    """Re-parse journalled bytes with today's driver/profile; stores nothing twice.

    Readings stored before are recognised; quarantined bytes that now decode are stored and
    their quarantine items marked resolved.
    """
    require(current_actor(), "results.import")
    settings = load_settings()
    day = date.fromisoformat(since[:10]) if since else None
    serials = list(instrument) or jr.serials(settings.journal_dir)
    report = {}
    for sn in serials:
        with session() as s:
            ctx = InstrumentContext.load(s, sn, _profile_dirs())
        tally = replay(engine=get_engine(), ctx=ctx, journal_root=settings.journal_dir,
                       tz=settings.timezone, since=day)
        report[sn] = tally.__dict__
    if as_json:
        emit_json(report)
        return
    for sn, t in report.items():
        typer.echo(f"{sn}: {t['chunks']} chunk(s); {t['results']} new result(s), "
                   f"{t['duplicates']} already stored, {t['weights']} weight(s), "
                   f"{t['quarantined']} quarantined")


@journal_app.command("show")
@handle_errors
def journal_show(instrument: str = typer.Option(..., "--instrument", help="Serial number."),
                 since: str = typer.Option(None, "--since", help="First day (YYYY-MM-DD, UTC)."),
                 as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Print an instrument's journal entries (time, kind, bytes)."""
    settings = load_settings()
    day = date.fromisoformat(since[:10]) if since else None
    rows = [{"file": e.file, "offset": e.offset, "at": e.at.isoformat(), "kind": e.kind,
             "hex": e.data.hex(), "text": e.data.decode("gb18030", errors="replace")}
            for e in jr.read(settings.journal_dir, instrument, since=day)]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['at']} {r['kind']:<5} {r['text']!r}")


@quarantine_app.command("list")
@handle_errors
def quarantine_list(instrument: str = typer.Option(None, "--instrument", help="Serial number."),
                    all_: bool = typer.Option(False, "--all", help="Include resolved items."),
                    limit: int = typer.Option(200, "--limit", help="At most this many."),
                    as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List quarantined bytes (newest first) with the reason each could not be stored."""
    require(current_actor(), "results.read")
    with session() as s:
        items = [quarantine.to_dict(i) for i in quarantine.list_items(
            session=s, instrument_serial=instrument, include_resolved=all_, limit=limit)]
    if as_json:
        emit_json(items)
        return
    for i in items:
        state = f" RESOLVED: {i['resolution']}" if i["resolved_at"] else ""
        typer.echo(f"#{i['id']} {i['received_at']} {i['instrument']} [{i['stage']}] "
                   f"{i['reason']}{state}\n    {i['raw_text']!r}")
    typer.echo(f"{len(items)} item(s)")
