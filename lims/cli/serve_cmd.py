"""`lims serve`: start the Streamlit app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

APP = Path(__file__).resolve().parent.parent.parent / "dashboards" / "app.py"


def serve(port: int = typer.Option(8501, help="HTTP port."),
          address: str = typer.Option("localhost", help="Address to bind (0.0.0.0 for a LAN)."),
          headless: bool = typer.Option(False, help="Do not open a browser.")) -> None:
    """Start the Streamlit app (all roles, zh/en)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
           "--server.address", address, "--browser.gatherUsageStats", "false",
           "--server.headless", "true" if headless else "false"]
    raise typer.Exit(subprocess.call(cmd, env=os.environ.copy()))
