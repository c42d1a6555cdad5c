"""Helpers shared by the CLI command modules: output, errors, identity, sessions."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import wraps
from typing import Any

import sqlalchemy as sa
import typer
from sqlmodel import Session

from lims.errors import LimsError
from lims.models.enums import Role
from lims.security.auth import Actor
from lims.storage.engine import get_engine, session_scope


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if hasattr(o, "model_dump"):
        return o.model_dump()
    return str(o)


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_default))


def fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def handle_errors(fn: Callable) -> Callable:
    """Turn service errors into a clear message and exit code 2 (no traceback for users)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (LimsError, ValueError) as exc:
            fail(str(exc))

    return wrapper


@contextmanager
def session() -> Iterator[Session]:
    with session_scope(get_engine()) as s:
        yield s


def current_actor() -> Actor:
    """The CLI's identity (docs/security.md, "CLI identity").

    * ``LIMS_USER`` set: that user, authenticated with ``LIMS_PASSWORD`` (prompted for, hidden,
      when unset and the terminal is interactive). Failures count towards the lock-out.
    * ``LIMS_USER`` unset and the database has no users yet (a fresh installation before its first
      admin): the operating-system user acts as local administrator ``cli:<name>``.
    * ``LIMS_USER`` unset and users exist: asks for username and password on a terminal,
      otherwise refuses.
    """
    from lims.errors import AuthenticationFailed
    from lims.security import users  # local import: users imports heavier modules

    name = os.environ.get("LIMS_USER", "").strip()
    if not name:
        with session() as s:
            try:
                n_users = users.count_users(session=s)
            except sa.exc.DBAPIError:  # not initialised yet: nothing to protect
                n_users = 0
        if n_users == 0:
            return Actor(f"cli:{getpass.getuser()}", Role.ADMIN)
        if not stdin_is_tty():
            raise AuthenticationFailed("who are you? set LIMS_USER and LIMS_PASSWORD "
                                       "(users exist, so the CLI needs a login)")
        name = typer.prompt("username").strip()
    password = os.environ.get("LIMS_PASSWORD")
    if password is None:
        if not stdin_is_tty():
            raise AuthenticationFailed(f"LIMS_PASSWORD is not set for LIMS_USER={name!r}")
        password = getpass.getpass(f"password for {name}: ")
    with session() as s:
        return users.authenticate(session=s, username=name, password=password)


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()
