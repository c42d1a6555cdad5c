"""`lims init`: create or upgrade the database and load reference data."""

from __future__ import annotations

import typer

from lims.cli.common import emit_json, handle_errors, session
from lims.cli.user_cmd import ensure_first_admin
from lims.reference.loader import load_reference_data
from lims.settings import load_settings
from lims.storage.engine import get_engine
from lims.storage.schema import is_current, upgrade


def _is_ready() -> bool:
    import sqlalchemy as sa

    from lims.security.users import count_users

    try:
        if not is_current(get_engine()):
            return False
        with session() as s:
            return count_users(session=s) > 0
    except sa.exc.DBAPIError:
        return False


@handle_errors
def init(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
         admin_user: str = typer.Option("admin", "--admin-user",
                                        help="Username of the first admin (created once, when "
                                             "no user exists)."),
         check: bool = typer.Option(False, "--check",
                                    help="Change nothing: exit 0 when the database is at the "
                                         "latest migration and has a user, else 1.")) -> None:
    """Create/upgrade the database to the latest migration and load reference data.

    Idempotent: running it twice changes nothing. When no user exists it creates the first
    admin with the password from LIMS_ADMIN_PASSWORD or a hidden prompt (never a default).
    """
    settings = load_settings()
    if check:
        ready = _is_ready()
        typer.echo("ready" if ready else "not initialised (run `lims init`)")
        raise typer.Exit(0 if ready else 1)
    upgrade(get_engine())
    with session() as s:
        report = load_reference_data(session=s)
    data = {"database": get_engine().url.render_as_string(hide_password=True),
            "inserted": report.inserted,
            "admin_created": ensure_first_admin(admin_user, quiet=as_json)}
    if as_json:
        emit_json(data)
    else:
        typer.echo(f"database ready: {data['database']}")
        typer.echo("reference data inserted: " + ", ".join(f"{k} {v}" for k, v in report.inserted.items()))
    settings.var_dir.mkdir(parents=True, exist_ok=True)
