"""The audit chain's head kept outside the database, as a witness against truncation and rewrites.

A hash chain alone cannot show that its tail was cut off, or that its suffix was rewritten
consistently (every hash recomputed): the result is again a valid chain. A copy of the head
(last event id and hash) kept elsewhere can: the chain must still hold that event, with that
hash. The head is written

* to ``LIMS_VAR_DIR/audit-head.json`` after every commit that extended the chain (at most one
  small atomic write per transaction; never per row). Once written, a head that the database no
  longer holds is kept (with a warning) rather than overwritten, so tampering stays visible
  until someone looks; only a restore replaces it.
* beside every backup (``<backup>.head.json``), checked again before a restore;
* to the central server by sync (``witness``), and on paper by whoever runs
  ``lims audit verify`` (it prints the head; ``--head`` checks against a noted one).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from lims.errors import InvalidInput, LimsError
from lims.models import AuditEvent
from lims.timeutil import now

HEAD_FILE = "audit-head.json"
GENESIS = "0" * 64
_EXTENDED = "lims.audit.extended"   # session.info: this transaction appended to the chain
_T = AuditEvent.__table__
log = logging.getLogger(__name__)


def current_head(conn: sa.Connection) -> tuple[int, str]:
    row = conn.execute(sa.select(_T.c.id, _T.c.hash).order_by(_T.c.id.desc()).limit(1)).first()
    return (row.id, row.hash) if row else (0, GENESIS)


def witness(session) -> dict:
    """The chain head to send elsewhere (sync push, a printout): event id, hash, time."""
    event_id, h = current_head(session.connection())
    return {"event_id": event_id, "hash": h, "at": now().isoformat()}


# ---- the head file -------------------------------------------------------------------------


def read_head(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LimsError(f"{path}: not a chain head file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("event_id"), int) \
            or not isinstance(data.get("hash"), str):
        raise LimsError(f"{path}: not a chain head file (needs event_id and hash)")
    return data


def write_head(path: Path, event_id: int, h: str, **extra) -> dict:
    """Write the head atomically (a temporary file renamed over the old one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"event_id": event_id, "hash": h, "at": now().isoformat(), **extra}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return data


def _head_file_for(engine: sa.Engine) -> Path | None:
    """LIMS_VAR_DIR/audit-head.json when ``engine`` is the configured database, else None
    (a test's or a tool's own database has no head file)."""
    from lims.settings import load_settings

    try:
        settings = load_settings()
        configured = sa.engine.make_url(settings.database_url)
    except Exception:   # a broken configuration is reported elsewhere, not after a commit
        return None
    if configured.render_as_string(hide_password=False) != \
            engine.url.render_as_string(hide_password=False):
        return None
    return settings.var_dir / HEAD_FILE


def update_head_file(engine: sa.Engine, *, force: bool = False,
                     path: Path | None = None) -> dict | None:
    """Write the database's current head to its head file. Without ``force``, a head file whose
    event the database no longer holds (or holds with another hash) is kept: it witnesses a
    truncation or rewrite. Returns what was written (None: nothing)."""
    path = path or _head_file_for(engine)
    if path is None:
        return None
    old = None
    try:
        old = read_head(path)
    except LimsError as exc:
        log.warning("%s", exc)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(_T.c.id, _T.c.hash).where(sa.or_(
            _T.c.id == (old["event_id"] if old else -1),
            _T.c.id == sa.select(sa.func.max(_T.c.id)).scalar_subquery()))).all())
    if not rows:
        return None
    head_id = max(rows)
    if old and not force and rows.get(old["event_id"]) != old["hash"]:
        log.warning("audit chain head %s: the database no longer holds event %s with hash %s; "
                    "the file is kept as a witness (run `lims audit verify`)",
                    path, old["event_id"], old["hash"])
        return None
    return write_head(path, head_id, rows[head_id],
                      database=engine.url.render_as_string(hide_password=True))


def note_extended(session) -> None:
    """Called by ``audit.record``: write the head file when this transaction commits."""
    session.info[_EXTENDED] = True


@event.listens_for(OrmSession, "after_commit")
def _after_commit(session) -> None:
    if not session.info.pop(_EXTENDED, None):
        return
    try:
        bind = session.get_bind()
        update_head_file(getattr(bind, "engine", bind))   # a session bound to a connection
    except Exception as exc:   # the commit is done; a head file that could not be written is
        log.warning("could not write the audit chain head file: %s", exc)   # caught by verify


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session) -> None:
    session.info.pop(_EXTENDED, None)


# ---- checking against a witness ------------------------------------------------------------


@dataclass
class Witness:
    """A noted head: event id (None when only the hash is known) and hash."""

    event_id: int | None
    hash: str
    source: str = "--head"
    _seen: str | None = field(default=None, repr=False)   # hash of the event at event_id
    _found: bool = field(default=False, repr=False)

    @classmethod
    def parse(cls, text: str, source: str = "--head") -> Witness:
        """``HASH`` or ``EVENT_ID:HASH``."""
        t = text.strip().lower()
        ident, _, h = t.rpartition(":")
        if len(h) != 64 or any(c not in "0123456789abcdef" for c in h) or \
                (ident and not ident.isdigit()):
            raise InvalidInput(f"{source}: expected a chain head as HASH or EVENT_ID:HASH "
                               f"(64 hex digits), got {text!r}")
        return cls(int(ident) if ident else None, h, source)

    @classmethod
    def from_file(cls, path: Path) -> Witness | None:
        data = read_head(path)
        return None if data is None else cls(data["event_id"], data["hash"], str(path))

    def __call__(self, event_id: int, h: str) -> None:
        if self.event_id is not None and event_id == self.event_id:
            self._seen = h
        if h == self.hash:
            self._found = True

    def problems(self, head_id: int) -> list[str]:
        """After the walk: what the chain lacks compared with this witness."""
        if self.event_id is None:
            return [] if self._found else [
                f"the witnessed head {self.hash} ({self.source}) is not in the chain: its tail "
                "was truncated or its suffix rewritten"]
        if head_id < self.event_id:
            return [f"chain TRUNCATED: it ends at event {head_id}, but {self.source} witnessed "
                    f"event {self.event_id} (hash {self.hash})"]
        if self._seen != self.hash:
            return [f"chain REWRITTEN: event {self.event_id} has hash {self._seen}, but "
                    f"{self.source} witnessed {self.hash}"]
        return []


# ---- backups -------------------------------------------------------------------------------


def sidecar(backup: Path) -> Path:
    return Path(backup).with_name(Path(backup).name + ".head.json")


def sqlite_file_event(path: Path, event_id: int | None = None) -> tuple[int, str]:
    """(id, hash) of the newest event in a SQLite file, or of ``event_id`` ((0, '') if none)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if event_id is None:
            row = con.execute("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")
        else:
            row = con.execute("SELECT id, hash FROM audit_event WHERE id = ?", (event_id,))
        got = row.fetchone()
    finally:
        con.close()
    return (got[0], got[1]) if got else ((0, GENESIS) if event_id is None else (0, ""))


def check_backup(source: Path, digest: str | None = None) -> dict | None:
    """Before a restore: the backup is the file noted when it was written (``digest``: its
    SHA-256), and its chain still holds the head noted then (raises LimsError when not). None
    when the backup has no head file (older backups)."""
    data = read_head(sidecar(source))
    if data is None:
        return None
    if data["event_id"] and data.get("backend", "sqlite") == "sqlite":   # 0: an empty chain
        got = sqlite_file_event(source, data["event_id"])[1]
        if got != data["hash"]:
            raise LimsError(f"restore: {source}: its audit chain does not hold the head noted "
                            f"when it was written (event {data['event_id']}, hash "
                            f"{data['hash']}); the backup was altered")
    if digest and data.get("sha256") and data["sha256"] != digest:
        raise LimsError(f"restore: {source}: its SHA-256 is {digest}, but it was {data['sha256']} "
                        "when it was written; the backup was altered")
    return data
