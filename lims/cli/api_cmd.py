"""`lims api …`: the HTTP API server and its tokens.

`lims api serve` runs the API (``lims.api``) with uvicorn on the configured database. `lims api
token create|list|revoke` manage the tokens of stations and devices (admins: permission
``api.tokens``); a new token is printed once and only its hash is stored.
"""

from __future__ import annotations

import logging

import typer

from lims.api.tokens import API_ROLES
from lims.cli.common import current_actor, emit_json, fail, handle_errors, session

app = typer.Typer(help="The HTTP API: serve it, manage its tokens.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of stations and devices (admins only).",
                        no_args_is_help=True)
app.add_typer(token_app, name="token")

ROLES = "; ".join(f"{name}: {r.help}" for name, r in API_ROLES.items())


@app.command("serve")
@handle_errors
def serve(host: str = typer.Option("127.0.0.1", "--host",
                                   help="Address to bind (behind a TLS reverse proxy)."),
          port: int = typer.Option(8600, "--port", help="TCP port."),
          rate_limit: float = typer.Option(600, "--rate-limit",
                                           help="Requests per token and minute (0: no limit)."),
          burst: int = typer.Option(60, "--burst",
                                    help="Requests a token may send at once."),
          log_level: str = typer.Option("info", "--log-level",
                                        help="uvicorn log level (debug, info, warning)."),
          workers: int = typer.Option(1, "--workers", min=1, max=64,
                                      help="Worker processes (PostgreSQL: about one per CPU "
                                           "core; uploads from several stations are then "
                                           "stored in parallel).")
          ) -> None:
    """Serve the HTTP API (OpenAPI docs at /api/docs) until Ctrl-C."""
    import json
    import os

    import uvicorn

    from lims.api.app import WORKER_OPTIONS, create_app
    from lims.storage.engine import get_engine
    from lims.storage.schema import is_current

    engine = get_engine()
    try:
        current = is_current(engine)
    except Exception:   # no database yet, or not reachable
        current = False
    if not current:
        fail("the database is missing or not up to date: run `lims init` first")
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO))
    typer.echo(f"API: http://{host}:{port}/api/v1 (docs: http://{host}:{port}/api/docs)"
               + (f", {workers} worker processes" if workers > 1 else ""), err=True)
    if workers == 1:
        api = create_app(engine, rate_per_minute=rate_limit, burst=burst)
        uvicorn.run(api, host=host, port=port, log_level=log_level, proxy_headers=True,
                    server_header=False)
        return
    if engine.dialect.name == "sqlite":
        typer.echo("note: on SQLite one transaction writes at a time; extra workers only "
                   "answer reads meanwhile", err=True)
    # each worker builds its own app (and engine, and rate limiter: the limit is per worker)
    os.environ[WORKER_OPTIONS] = json.dumps({"rate_per_minute": rate_limit, "burst": burst})
    engine.dispose()
    uvicorn.run("lims.api.app:app_from_env", factory=True, workers=workers, host=host,
                port=port, log_level=log_level, proxy_headers=True, server_header=False,
                timeout_worker_healthcheck=60)   # (a worker's imports take seconds)


@token_app.command("create")
@handle_errors
def create(station: str = typer.Option(..., "--station", help="The station or device name."),
           role: str = typer.Option("station", "--role", help=f"One of: {ROLES}."),
           as_json: bool = typer.Option(False, "--json", help='Print {"token": …} as JSON.')
           ) -> None:
    """Make a token for a station; it is shown this once (only its hash is kept)."""
    from lims.api.tokens import create_token

    actor = current_actor()
    with session() as s:
        token, info = create_token(session=s, actor=actor, station=station, role=role)
    if as_json:
        emit_json({"token": token, **info.to_dict()})
    else:
        typer.echo(token)
        typer.echo(f"token {info.token_id} for station {info.station} ({info.role}); it is "
                   "shown only now: keep it in the station's configuration", err=True)


@token_app.command("list")
@handle_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Print the tokens as JSON.")
          ) -> None:
    """List the tokens (never the tokens themselves): id, station, role, state, last use."""
    from lims.api.tokens import list_tokens

    actor = current_actor()
    with session() as s:
        rows = list_tokens(session=s, actor=actor)
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    for r in rows:
        state = "active" if r.active else f"revoked {r.revoked_at:%Y-%m-%d %H:%M}"
        used = f"last used {r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else "never used"
        typer.echo(f"{r.token_id}  {r.station:<20} {r.role:<8} {state}, {used}")


@token_app.command("revoke")
@handle_errors
def revoke(which: str = typer.Argument(..., help="A token id, or a station name (all of its "
                                                 "active tokens)."),
           as_json: bool = typer.Option(False, "--json", help="Print the revoked tokens.")
           ) -> None:
    """Revoke a token (or every token of a station): it answers 401 from now on."""
    from lims.api.tokens import revoke as revoke_tokens

    actor = current_actor()
    with session() as s:
        rows = revoke_tokens(session=s, actor=actor, which=which)
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    for r in rows:
        typer.echo(f"revoked {r.token_id} ({r.station})")
