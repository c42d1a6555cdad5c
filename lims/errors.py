"""Errors services raise; the CLI and the app turn them into messages."""

from __future__ import annotations

from dataclasses import dataclass


class LimsError(Exception):
    """Base class: a user-facing error with a clear message."""


class NotFound(LimsError):
    """A named thing (market, instrument, method …) does not exist."""


class Conflict(LimsError):
    """The state of the data forbids the action now (a code taken meanwhile, a closed case …).

    Also: voiding a voided result, reviewing a result that is not held, adding a username that
    is taken, loading demo data twice. The message names the thing and its state.
    """


class PermissionDenied(LimsError):
    """The acting user's role may not do this."""


class InvalidInput(LimsError, ValueError):
    """A value given by a user or a caller is malformed, missing or out of range (an empty
    reason, a bad username, an unknown role, a timestamp that is not ISO 8601 …).

    The message names the field and the value: ``"reason: required to void a result"``.
    It is a ``ValueError`` too, so older ``except ValueError`` callers keep working.
    Several bad rows of a file are reported together with ``ValidationFailed`` instead.
    """


class ConfigError(LimsError, ValueError):
    """A setting (``LIMS_*`` environment variable), a shipped or edited reference/rules file
    (``refdata/*.toml``, ``*.csv``) or a built-in table is wrong: the product cannot work
    until an administrator fixes it.

    The message names the setting or the file (with line, section or key where known).
    It is a ``ValueError`` too, so older ``except ValueError`` callers keep working.
    """


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
