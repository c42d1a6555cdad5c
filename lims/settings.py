"""One settings object for the whole product.

Every setting is declared once in ``SETTINGS`` (name, default, help) and read from the
environment; ``tests/lims/test_settings_documented.py`` fails when a setting is missing from the README.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from lims.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "LIMS_DATABASE_URL",
        None,
        "SQLAlchemy URL of the database. Default: a SQLite file var/lims.sqlite3 under the "
        "working directory. PostgreSQL: postgresql+psycopg://user:pass@host/db",
    ),
    Setting("LIMS_VAR_DIR", "var", "Directory for the SQLite file, the raw instrument journal and backups."),
    Setting("LIMS_TIMEZONE", "Asia/Shanghai", "Local time zone used for dates, weeks and display."),
    Setting("LIMS_LANG", "zh", "Default UI language of the app: zh or en."),
    Setting("LIMS_USER", None, "Identity used by the CLI (a username in the users table)."),
    Setting("LIMS_PASSWORD", None, "Password for LIMS_USER when the CLI needs to authenticate."),
    Setting(
        "LIMS_ADMIN_PASSWORD",
        None,
        "Password for the first admin created by `lims init` when no user exists (non-interactive).",
    ),
    Setting(
        "LIMS_CLOCK",
        None,
        "Tests and demos only: the instant (ISO 8601 with offset) the process's clock starts at; "
        "it runs forward from there. Unset: the system clock.",
    ),
    Setting("LIMS_PUBLIC_BASE_URL", "http://localhost:8501", "Base URL printed in QR codes on result slips."),
    Setting(
        "LIMS_SLIP_KEY_FILE",
        None,
        "Ed25519 private key (PKCS#8 PEM, mode 0600) that signs result-slip QR codes. Unset: "
        "LIMS_VAR_DIR/keys/slip_ed25519.pem, generated on first use.",
    ),
    Setting(
        "LIMS_FUTURE_TOLERANCE_MINUTES",
        "30",
        "HTTP API: how far (minutes) a reading's tested_at may lie ahead of the server's clock "
        "(instrument clocks drift); later times are refused.",
    ),
    Setting("LIMS_ATTACHMENT_MAX_MB", "10",
            "Attachments (photos, scans on samples, cases, patrols, calibration records): the "
            "largest file accepted, in MB."),
    Setting("LIMS_CLOCK_DRIFT_MINUTES", "5",
            "Instrument clocks (lab page 方法监控): an instrument whose clock differs from the "
            "listener's receive time by more than this (median, minutes) is flagged as drifting."),
    Setting("LIMS_SQLITE_CACHE_MB", "64",
            "SQLite: page cache per database connection, in MB. A batch of readings touches "
            "index pages all over a large file; with SQLite's own 2 MB they are written out and "
            "read again before the commit (docs/performance.md)."),
    Setting("LIMS_BACKDATE_MINUTES", "60",
            "Instrument clocks: a port reading received more than this many minutes after the "
            "time it claims (beyond its instrument's usual offset) is flagged as back-dated."),
    Setting("LIMS_SMTP_HOST", None,
            "Alert notices by e-mail: the SMTP server (unset: no e-mail). The grid group's "
            "e-mail address is set with the grid group."),
    Setting("LIMS_SMTP_PORT", "25", "Alert notices by e-mail: SMTP port (587 with STARTTLS)."),
    Setting("LIMS_SMTP_FROM", "lims@localhost", "Alert notices by e-mail: the sender address."),
    Setting("LIMS_SMTP_USER", None, "Alert notices by e-mail: SMTP login (unset: none)."),
    Setting("LIMS_SMTP_PASSWORD", None, "Alert notices by e-mail: SMTP password."),
    Setting("LIMS_SMTP_STARTTLS", "0", "Alert notices by e-mail: 1 to upgrade with STARTTLS."),
    Setting("LIMS_NOTICE_WEBHOOK_URL", None,
            "Alert notices by HTTP: every alert is POSTed as JSON to this URL (an SMS gateway or "
            "a WeChat Work robot bridge sits behind it). Unset: no webhook."),
    Setting("LIMS_NOTICE_MAX_ATTEMPTS", "10",
            "Alert notices: attempts before a notice is marked failed (retries back off from "
            "30 s, doubling, up to 30 min apart)."),
    Setting(
        "LIMS_TEST_POSTGRES_URL",
        None,
        "Tests only: URL of a PostgreSQL server the suite may create databases on. "
        "Set by .ci/run; CI fails when PostgreSQL tests would skip.",
    ),
)


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    timezone: ZoneInfo
    lang: str
    public_base_url: str
    future_tolerance_minutes: int = 30
    slip_key_file: Path | None = None   # LIMS_SLIP_KEY_FILE; None: keys_dir/slip_ed25519.pem

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def journal_dir(self) -> Path:
        return self.var_dir / "journal"

    @property
    def keys_dir(self) -> Path:
        """Signing keys: the slip key (unless LIMS_SLIP_KEY_FILE) and retired public keys."""
        return self.var_dir / "keys"


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        for s in SETTINGS:
            if s.name == name:
                return s.default
    return value


def setting(name: str) -> str | None:
    """One declared setting's value (the environment, else its default); for settings that only
    one module reads (SMTP, webhook …)."""
    if not any(s.name == name for s in SETTINGS):
        raise ConfigError(f"{name} is not a declared setting (lims/settings.py)")
    return _env(name)


def int_setting(name: str, minimum: int = 1, maximum: int | None = None, unit: str = "") -> int:
    """A declared setting that must be a whole number in [minimum, maximum]; ConfigError names
    the setting and the value otherwise."""
    raw = setting(name) or ""
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"≥ {minimum}"
        raise ConfigError(f"{name} must be a whole number{unit} {bounds}, got {raw!r}")
    return value


def load_settings() -> Settings:
    """Read the settings from the environment, refusing values that cannot work (ConfigError).

    The one place ``LIMS_TIMEZONE`` is read; everything else asks ``lims.timeutil.local_tz()``.
    """
    var_dir = Path(_env("LIMS_VAR_DIR") or "var")
    url = _env("LIMS_DATABASE_URL") or f"sqlite:///{var_dir / 'lims.sqlite3'}"
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError(
            f"LIMS_DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL, got {url!r}"
        )
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    tz_name = _env("LIMS_TIMEZONE") or ""  # the default is declared once, in SETTINGS
    try:
        tz = ZoneInfo(tz_name)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError
        raise ConfigError(f"LIMS_TIMEZONE: unknown time zone {tz_name!r}") from exc
    lang = _env("LIMS_LANG") or "zh"
    if lang not in ("zh", "en"):
        raise ConfigError(f"LIMS_LANG must be 'zh' or 'en', got {lang!r}")
    tolerance = _env("LIMS_FUTURE_TOLERANCE_MINUTES") or "30"
    try:
        future_tolerance = int(tolerance)
    except ValueError:
        future_tolerance = -1
    if future_tolerance < 0:
        raise ConfigError("LIMS_FUTURE_TOLERANCE_MINUTES must be a whole number of minutes "
                          f"(0 or more), got {tolerance!r}")
    return Settings(
        database_url=url,
        var_dir=var_dir,
        timezone=tz,
        lang=lang,
        public_base_url=_env("LIMS_PUBLIC_BASE_URL") or "http://localhost:8501",
        future_tolerance_minutes=future_tolerance,
        slip_key_file=Path(key_file) if (key_file := _env("LIMS_SLIP_KEY_FILE")) else None,
    )
