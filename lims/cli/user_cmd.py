"""`lims user …`: accounts and passwords (admins only; anyone may change their own password).

Passwords are never command-line arguments (they would show in `ps` and shell history): they are
read with a hidden prompt, or for scripts from an environment variable named by --password-env.
"""

from __future__ import annotations

import os

import typer

from lims.cli.common import current_actor, emit_json, handle_errors, session, stdin_is_tty
from lims.models.enums import Role
from lims.security import users

app = typer.Typer(help="User accounts: add, list, disable, enable, unlock, passwd (admins only).",
                  no_args_is_help=True)

ROLES = ", ".join(r.value for r in Role)
PASSWORD_ENV_HELP = ("Read the password from this environment variable (for scripts) instead of "
                     "a hidden prompt.")


def _read_password(env_var: str | None, label: str = "new password") -> str:
    if env_var:
        value = os.environ.get(env_var)
        if value is None:
            raise ValueError(f"--password-env: environment variable {env_var} is not set")
        return value
    return typer.prompt(label, hide_input=True, confirmation_prompt=True)


def ensure_first_admin(username: str, *, quiet: bool = False) -> str | None:
    """Create the first admin when no user exists (for `lims init`); returns its name or None.

    Password from LIMS_ADMIN_PASSWORD, else a hidden prompt on a terminal; without either the
    installation stays in bootstrap mode (the CLI acts as local admin) and a note says so.
    """
    with session() as s:
        if users.count_users(session=s) > 0:
            return None
        password = os.environ.get("LIMS_ADMIN_PASSWORD")
        if not password:
            if not stdin_is_tty():
                if not quiet:
                    typer.echo("note: no user exists yet; set LIMS_ADMIN_PASSWORD and run "
                               "`lims init` again to create the first admin (until then the CLI "
                               "acts as local administrator)", err=True)
                return None
            for attempt in range(3):
                password = typer.prompt(f"password for the first admin {username!r}",
                                        hide_input=True, confirmation_prompt=True)
                try:
                    users.check_password_policy(password, username=username)
                    break
                except users.WeakPassword as exc:
                    typer.echo(str(exc), err=True)
                    if attempt == 2:
                        raise
        users.create_first_admin(session=s, username=username, password=password)
    if not quiet:
        typer.echo(f"first admin created: {username}")
    return username


@app.command("add")
@handle_errors
def add(username: str = typer.Argument(..., help="Login name (letters, digits, . _ @ -)."),
        role: str = typer.Option(..., "--role", help=f"One of: {ROLES}."),
        display_name: str = typer.Option("", "--display-name", help="Full name shown in the app."),
        password_env: str | None = typer.Option(None, "--password-env", help=PASSWORD_ENV_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the new user as JSON.")) -> None:
    """Add a user with a role and a password (hidden prompt or --password-env)."""
    actor = current_actor()
    password = _read_password(password_env)
    with session() as s:
        info = users.add_user(session=s, actor=actor, username=username, role=role,
                              password=password, display_name=display_name)
    if as_json:
        emit_json(info.to_dict())
    else:
        typer.echo(f"user {info.username} added ({info.role})")


@app.command("list")
@handle_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Print the users as JSON.")) -> None:
    """List users with their role, state and lock."""
    actor = current_actor()
    with session() as s:
        rows = users.list_users(session=s, actor=actor)
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    for r in rows:
        state = "active" if r.active else "disabled"
        lock = f", locked until {r.locked_until.isoformat()}" if r.locked_until else ""
        typer.echo(f"{r.username:<20} {r.role:<15} {state}{lock}  {r.display_name}")


@app.command("disable")
@handle_errors
def disable(username: str = typer.Argument(..., help="The user to disable."),
            reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail).")
            ) -> None:
    """Disable an account (it can no longer log in; its app sessions end). Never deleted."""
    actor = current_actor()
    with session() as s:
        users.set_active(session=s, actor=actor, username=username, active=False, reason=reason)
    typer.echo(f"user {username} disabled")


@app.command("enable")
@handle_errors
def enable(username: str = typer.Argument(..., help="The user to enable again."),
           reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail).")
           ) -> None:
    """Enable a disabled account again."""
    actor = current_actor()
    with session() as s:
        users.set_active(session=s, actor=actor, username=username, active=True, reason=reason)
    typer.echo(f"user {username} enabled")


@app.command("unlock")
@handle_errors
def unlock(username: str = typer.Argument(..., help="The locked user."),
           reason: str = typer.Option("", "--reason", help="Why (kept in the audit trail).")
           ) -> None:
    """Lift a lock-out after failed logins before it runs out."""
    actor = current_actor()
    with session() as s:
        users.unlock_user(session=s, actor=actor, username=username, reason=reason)
    typer.echo(f"user {username} unlocked")


@app.command("passwd")
@handle_errors
def passwd(username: str | None = typer.Argument(None, help="Whose password (default: yours)."),
           password_env: str | None = typer.Option(None, "--password-env",
                                                   help=PASSWORD_ENV_HELP)) -> None:
    """Set a password: admins for anyone (also clears a lock), others only their own."""
    actor = current_actor()
    target = username or actor.username
    current = None
    if target == actor.username and not actor.can("users.manage"):
        current = os.environ.get("LIMS_PASSWORD")
        if current is None:
            if not stdin_is_tty():
                raise ValueError("LIMS_PASSWORD: the current password is needed")
            current = typer.prompt("current password", hide_input=True)
    password = _read_password(password_env)
    with session() as s:
        users.set_password(session=s, actor=actor, username=target, password=password,
                           current_password=current)
    typer.echo(f"password of {target} changed; their app sessions ended")
