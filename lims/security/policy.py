"""The security policy (lock-out, session lifetime, password rules) read from reference data.

The numbers live in ``lims/refdata/security.toml`` with their source; nothing here is a bare
constant. Tests and installations may pass another file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from lims.errors import ConfigError

POLICY_FILE = Path(__file__).resolve().parent.parent / "refdata" / "security.toml"


@dataclass(frozen=True)
class SecurityPolicy:
    max_failed: int
    lockout: timedelta
    session_idle: timedelta
    session_max: timedelta
    password_min_length: int
    password_max_length: int
    password_min_classes: int
    source: str
    edition: str
    #: the list of common passwords a new password may not be, nor be built on (one a line)
    common_passwords: Path | None = None


def _int(data: dict, section: str, key: str, where: str, minimum: int = 1) -> int:
    try:
        value = data[section][key]
    except KeyError:
        raise ConfigError(f"{where}: [{section}] {key} is missing") from None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{where}: [{section}] {key} must be an integer ≥ {minimum}, "
                          f"got {value!r}")
    return value


def parse_policy(text: str, where: str = "security.toml",
                 base: Path = POLICY_FILE.parent) -> SecurityPolicy:
    """Parse a policy file; bad values raise ConfigError naming the file, section and key.
    ``[password] common_list`` is a file name relative to ``base`` (the policy file's folder)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    p = SecurityPolicy(
        max_failed=_int(data, "login", "max_failed", where),
        lockout=timedelta(minutes=_int(data, "login", "lockout_minutes", where)),
        session_idle=timedelta(minutes=_int(data, "session", "idle_minutes", where)),
        session_max=timedelta(hours=_int(data, "session", "max_hours", where)),
        password_min_length=_int(data, "password", "min_length", where, minimum=8),
        password_max_length=_int(data, "password", "max_length", where, minimum=8),
        password_min_classes=_int(data, "password", "min_classes", where),
        source=str(data.get("source", "")),
        edition=str(data.get("edition", "")),
        common_passwords=_common_list(data, where, base),
    )
    if p.password_max_length < p.password_min_length:
        raise ConfigError(f"{where}: [password] max_length is below min_length")
    if p.password_min_classes > 4:
        raise ConfigError(f"{where}: [password] min_classes must be 1–4")
    if not p.source:
        raise ConfigError(f"{where}: source is missing (where do these numbers come from?)")
    return p


def _common_list(data: dict, where: str, base: Path) -> Path | None:
    name = data.get("password", {}).get("common_list")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: [password] common_list must be a file name, got {name!r}")
    path = base / name
    if not path.is_file():
        raise ConfigError(f"{where}: [password] common_list: no file {path}")
    return path


@lru_cache(maxsize=4)
def load_policy(path: Path = POLICY_FILE) -> SecurityPolicy:
    return parse_policy(path.read_text(encoding="utf-8"), where=str(path.name), base=path.parent)


@lru_cache(maxsize=4)
def common_passwords(path: Path) -> frozenset[str]:
    """The common-password list, lower case (comment lines starting with "#" skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read the common-password list "
                          f"({exc.strerror})") from None
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))
