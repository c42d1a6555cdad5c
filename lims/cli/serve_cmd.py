"""`lims serve`: start the Streamlit app."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
import webbrowser
from pathlib import Path

import typer

APP = Path(__file__).resolve().parent.parent.parent / "dashboards" / "app.py"


def streamlit_command(port: int, address: str = "localhost") -> list[str]:
    """The app's server command. Always headless: Streamlit's own first-run e-mail prompt would
    block a terminal (and `make run`); the browser is opened by ``open_browser_when_ready``."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.address", address, "--browser.gatherUsageStats", "false",
            "--server.headless", "true"]


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
    raise typer.Exit(subprocess.call(streamlit_command(port, address), env=os.environ.copy()))
