"""Errors services raise; the CLI and the app turn them into messages."""

from __future__ import annotations

from dataclasses import dataclass


class LimsError(Exception):
    """Base class: a user-facing error with a clear message."""


class NotFound(LimsError):
    """A named thing (market, instrument, method …) does not exist."""


class PermissionDenied(LimsError):
    """The acting user's role may not do this."""


@dataclass(frozen=True)
class RowError:
    row: int | str   # line number in a file, or an index/identifier
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


class ValidationFailed(LimsError):
    """One or more input rows are bad; nothing was written."""

    def __init__(self, errors: list[RowError], what: str = "input"):
        self.errors = errors
        lines = "\n".join(f"  {e}" for e in errors[:50])
        more = f"\n  … and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{what}: {len(errors)} bad row(s), nothing written:\n{lines}{more}")


class AuthenticationFailed(PermissionDenied):
    """Wrong username or password, a disabled or locked account, or an expired app session."""


class AccountLocked(AuthenticationFailed):
    """Too many failed logins: the account is locked for a while (security policy)."""


class SessionExpired(AuthenticationFailed):
    """The app session is unknown, ended, idle too long or past its maximum age."""
