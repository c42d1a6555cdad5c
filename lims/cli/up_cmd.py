"""`lims up`: what `make run` starts — the simulated instruments feeding the database, and the app.

For each demo analyzer (the first active ``enzyme-12ch`` and ``gold-reader`` instruments; one is
created when there is none) it makes a null-modem pair of ptys (``instruments.nullmodem``), runs ``lims simulate``
on one end and ``lims listen`` on the other, then starts the app. A listener that exits is
restarted with back-off (``lims.listening.supervisor``), logged on stderr. Ctrl-C (or SIGTERM /
SIGHUP) stops every child, the app included.
"""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer
from sqlmodel import select

from lims.cli.common import handle_errors, session, stdin_is_tty
from lims.cli.serve_cmd import open_browser_when_ready, streamlit_command
from lims.errors import AuthenticationFailed
from lims.listening.supervisor import Supervised
from lims.models import Instrument, Market, Method
from lims.security import users
from lims.security.auth import require
from lims.settings import load_settings

DEMO_PROFILES = (("enzyme-12ch", "SIM-ENZ-0001", "pesticide_analyzer", "ENZ-5009.199"),
                 ("gold-reader", "SIM-GOLD-0001", "card_reader", None))


def demo_instruments() -> list[tuple[str, str, str | None]]:
    """(serial, profile, market name to print) of the analyzers to simulate; creates one per
    profile if absent."""
    out = []
    with session() as s:
        market = s.exec(select(Market).order_by(Market.id)).first()
        for profile, serial, kind, method in DEMO_PROFILES:
            inst = s.exec(select(Instrument).where(Instrument.driver == "profile",
                                                   Instrument.profile == profile,
                                                   Instrument.active)
                          .order_by(Instrument.id)).first()
            if inst is None:
                mid = s.exec(select(Method.id).where(Method.code == method)).first() if method else None
                inst = Instrument(serial_no=serial, model=f"simulated ({profile})", kind=kind,
                                  driver="profile", profile=profile, location="lims up",
                                  market_id=market.id if market else None, method_id=mid)
                s.add(inst)
                s.flush()
            out.append((inst.serial_no, profile, market.name if market else None))
    return out


def _pty_pair(tty_dir: Path, serial: str) -> tuple[subprocess.Popen, Path, Path]:
    """A null-modem pair of ptys (instruments.nullmodem, pure Python: no socat needed)."""
    a, b = tty_dir / f"{serial}.instrument", tty_dir / f"{serial}.host"
    for p in (a, b):
        p.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "instruments.nullmodem", str(a), str(b)])
    deadline = time.monotonic() + 10
    while not (a.exists() and b.exists()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise ValueError(f"the pty pair {a} / {b} was not created")
        time.sleep(0.05)
    return proc, a, b


def _stop(children: list[subprocess.Popen | Supervised]) -> None:
    """Stop in reverse start order (app, simulator, listener, pty pair), each before the next."""
    for p in reversed(children):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _child_env() -> dict[str, str]:
    """The environment of the listeners: they store readings, so once users exist they need a
    login. It is asked here once (or taken from LIMS_USER/LIMS_PASSWORD), checked, and handed
    to the children, so nobody is prompted by a background process."""
    env = os.environ.copy()
    with session() as s:
        if users.count_users(session=s) == 0:
            return env
    if not (env.get("LIMS_USER") and env.get("LIMS_PASSWORD")):
        if not stdin_is_tty():
            raise AuthenticationFailed("lims up starts listeners that store readings: set "
                                       "LIMS_USER and LIMS_PASSWORD")
        env["LIMS_USER"] = env.get("LIMS_USER") or typer.prompt("username").strip()
        env["LIMS_PASSWORD"] = getpass.getpass(f"password for {env['LIMS_USER']}: ")
    with session() as s:
        actor = users.authenticate(session=s, username=env["LIMS_USER"],
                                   password=env["LIMS_PASSWORD"])
    require(actor, "results.import")
    return env


@handle_errors
def up(port: int = typer.Option(8501, help="HTTP port of the app."),
       headless: bool = typer.Option(False, help="Do not open a browser."),
       interval: float = typer.Option(4.0, help="Seconds between simulated readings."),
       app: bool = typer.Option(True, "--app/--no-app", help="Start the app (else instruments only)."),
       ) -> None:
    """Start the demo stack: simulated instruments with their listeners, then the app."""
    settings = load_settings()
    env = _child_env()
    tty_dir = settings.var_dir / "tty"
    tty_dir.mkdir(parents=True, exist_ok=True)
    script = Path(sys.executable).parent / "lims"
    lims = [str(script)] if script.exists() else ["lims"]
    children: list[subprocess.Popen | Supervised] = []
    stopping = {"flag": False}

    def _on_signal(*_):
        stopping["flag"] = True

    old = {sig: signal.signal(sig, _on_signal)
           for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        for n, (serial, profile, market_name) in enumerate(demo_instruments()):
            bridge, inst_end, host_end = _pty_pair(tty_dir, serial)
            children.append(bridge)
            children.append(Supervised([*lims, "listen", "--instrument", serial,
                                        "--port", str(host_end)], env=env,
                                       name=f"lims listen {serial}",
                                       report=lambda m: typer.echo(m, err=True)).start())
            time.sleep(1.0)   # let the listener open its end first (opening flushes input)
            children.append(subprocess.Popen(
                [*lims, "simulate", "profile", "--profile", profile, "--port", str(inst_end),
                 "--count", "0", "--interval", str(interval * (1 + n)), "--serial", serial,
                 "--seed", str(int(time.time()) + n), "--byte-time", "0.001", "--live-clock",
                 *(["--tested-unit", market_name] if market_name else [])],
                env=env, stdout=subprocess.DEVNULL))
            typer.echo(f"simulated {profile} {serial}: {inst_end} → lims listen on {host_end}")
        if app:
            children.append(subprocess.Popen(streamlit_command(port), env=env))
            if not headless:
                open_browser_when_ready(port)
        typer.echo("running; Ctrl-C stops everything")
        while not stopping["flag"] and all(p.poll() is None for p in children):
            time.sleep(0.2)
        failed = [p.args for p in children if p.poll() not in (None, 0)]
        if failed and not stopping["flag"]:
            typer.echo(f"a child stopped: {failed[0]}", err=True)
    finally:
        _stop(children)
        for sig, handler in old.items():
            signal.signal(sig, handler)
