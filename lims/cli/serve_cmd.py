"""`lims serve`: start the Streamlit app (and stop it when `lims serve` is stopped).

Streamlit runs as a child process; SIGTERM, SIGINT or SIGHUP to `lims serve` stops that child
(SIGTERM, then SIGKILL after ``STOP_TIMEOUT`` seconds) before `lims serve` exits, so no server is
left behind on the port. The app shows no developer chrome (no Deploy button or menu:
``client.toolbarMode`` "minimal", also set in .streamlit/config.toml).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import webbrowser
from pathlib import Path

import typer

APP = Path(__file__).resolve().parent.parent.parent / "dashboards" / "app.py"
STOP_TIMEOUT = 10.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def streamlit_command(port: int, address: str = "localhost") -> list[str]:
    """The app's server command. Always headless: Streamlit's own first-run e-mail prompt would
    block a terminal (and `make run`); the browser is opened by ``open_browser_when_ready``."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.address", address, "--browser.gatherUsageStats", "false",
            "--server.headless", "true", "--client.toolbarMode", "minimal"]


def stop_child(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM ``proc`` and wait for it; SIGKILL it if it is still there after ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_until_stopped(cmd: list[str], env: dict[str, str]) -> int:
    """Run ``cmd`` until it exits or this process gets a stop signal; never leave it running.

    Returns the child's exit code (0 when it was stopped on request)."""
    proc = subprocess.Popen(cmd, env=env)
    stopping = {"flag": False}

    def _on_signal(*_) -> None:
        stopping["flag"] = True

    old = {sig: signal.signal(sig, _on_signal) for sig in STOP_SIGNALS}
    try:
        while proc.poll() is None and not stopping["flag"]:
            time.sleep(0.2)
    finally:
        stop_child(proc)   # also when this process is interrupted by an exception
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return 0 if stopping["flag"] else proc.returncode


def open_browser_when_ready(port: int, timeout: float = 60.0) -> threading.Thread:
    """Open the app in the default browser once its health endpoint answers (in a thread)."""
    url = f"http://localhost:{port}"

    def _wait_and_open() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        typer.echo(f"app: {url}")
                        webbrowser.open(url)
                        return
            except OSError:
                time.sleep(0.5)

    th = threading.Thread(target=_wait_and_open, daemon=True)
    th.start()
    return th


def serve(port: int = typer.Option(8501, help="HTTP port."),
          address: str = typer.Option("localhost", help="Address to bind (0.0.0.0 for a LAN)."),
          headless: bool = typer.Option(False, help="Do not open a browser.")) -> None:
    """Start the Streamlit app (all roles, zh/en)."""
    if not headless:
        open_browser_when_ready(port)
    raise typer.Exit(run_until_stopped(streamlit_command(port, address), os.environ.copy()))
