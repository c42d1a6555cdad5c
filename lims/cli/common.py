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

import typer
from sqlmodel import Session

from lims.db import get_engine, session_scope
from lims.models.enums import Role
from lims.services.auth import Actor
from lims.services.errors import LimsError


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
    """The CLI's identity: LIMS_USER when set (checked against the users table), else the
    operating-system user acting as a local administrator of this installation."""
    from lims.services import users  # local import: users imports heavier modules

    name = os.environ.get("LIMS_USER")
    if name:
        with session() as s:
            return users.actor_for(session=s, username=name,
                                   password=os.environ.get("LIMS_PASSWORD"))
    return Actor(f"cli:{getpass.getuser()}", Role.ADMIN)


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()
