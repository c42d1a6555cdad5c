"""`lims up`: what `make run` starts — the simulated instruments feeding the database, and the app."""

from __future__ import annotations

import typer

from lims.cli.serve_cmd import serve


def up(port: int = typer.Option(8501, help="HTTP port of the app."),
       headless: bool = typer.Option(False, help="Do not open a browser.")) -> None:
    """Start the demo stack: simulated instruments with their listeners, then the app."""
    serve(port=port, address="localhost", headless=headless)
