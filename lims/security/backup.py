"""Backups and restores of the whole database.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while
other processes keep writing; the copy is checked (``PRAGMA integrity_check``) and switched to
rollback-journal mode so it is one self-contained file. A restore first checks the file, saves the
current database beside the backups (``pre-restore-…``), then copies the file in with the same API.
The whole restore — safety copy, copy-in, audit event, journal replay — runs under the exclusive
maintenance lock (``lims.storage.maintenance``): every other process's writes wait (and are
refused with "maintenance: a restore is running, try again in a moment" after a while), so no
row can be committed between the safety copy and the copy-in. Afterwards the raw instrument
journal is replayed (``lims.listening.processor.replay``, idempotent by ingest key) from where
each instrument's restored listener offset points, so readings received after the backup was
taken are stored again.

PostgreSQL: runs ``pg_dump --format=custom`` / ``pg_restore --clean --single-transaction`` when they
are on the PATH, otherwise raises an error that prints the commands to run. There is no file lock:
``pg_restore --single-transaction --clean`` drops and recreates every table in one transaction,
so concurrent writers block on its table locks and then fail (listeners retry with back-off);
no safety copy is taken (run ``lims backup`` first). Before anything is replaced, the dump's
audit events are read (``pg_restore --data-only --table=audit_event --file=-``, no database) and
the restore is refused, as on SQLite, unless the dump still holds the chain head noted in
``<backup>.head.json`` when it was written. The journal replay runs as on SQLite.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from lims.errors import LimsError, NotFound
from lims.security import backup_files, chainhead
from lims.security.auth import Actor, require
from lims.storage import maintenance
from lims.timeutil import now

REQUIRED_TABLES = ("alembic_version", "audit_event", "test_result", "app_user")


@dataclass
class BackupReport:
    path: Path
    backend: str
    size: int
    sha256: str
    at: datetime
    safety: Path | None = None          # restore: the pre-restore copy of the replaced content
    replayed: dict | None = None        # restore: journal replay counts per instrument
    head: dict | None = None            # the audit chain head it holds (lims.security.chainhead)
    attachments: dict | None = None     # the attachment files beside it (backup_files)

    def to_dict(self) -> dict:
        out = {"path": str(self.path), "backend": self.backend, "size": self.size,
               "sha256": self.sha256, "at": self.at.isoformat()}
        if self.safety is not None:
            out["safety"] = str(self.safety)
        if self.replayed is not None:
            out["replayed"] = self.replayed
        if self.head is not None:
            out["head"] = self.head
        if self.attachments is not None:
            out["attachments"] = self.attachments
        return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stamp() -> str:
    return now().strftime("%Y%m%dT%H%M%SZ")


def default_backup_path(engine: sa.Engine, backup_dir: Path) -> Path:
    ext = "sqlite3" if engine.dialect.name == "sqlite" else "pgdump"
    return backup_dir / f"lims-{_stamp()}.{ext}"


def _sqlite_path(engine: sa.Engine) -> Path:
    db = engine.url.database
    if not db or db == ":memory:":
        raise LimsError("backup: an in-memory SQLite database has nothing to back up")
    return Path(db)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_sqlite_file(path: Path) -> None:
    """Raise LimsError unless ``path`` is an intact LIMS SQLite database."""
    if not path.is_file():
        raise LimsError(f"{path}: no such file")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise LimsError(f"{path}: not a SQLite database ({exc})") from None
    if result != "ok":
        raise LimsError(f"{path}: integrity check failed: {result}")
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise LimsError(f"{path}: not a LIMS database (missing tables: {', '.join(missing)})")


def _sqlite_copy(src: Path, dst: Path) -> None:
    source = sqlite3.connect(src, timeout=30)
    target = sqlite3.connect(dst, timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def backup_database(*, engine: sa.Engine, actor: Actor, out: Path,
                    var_dir: Path | None = None) -> BackupReport:
    """Write a consistent copy of the database to ``out`` (never overwrites a file); with
    ``var_dir``, its attachment files too (``<out>.attachments.tar``, ``backup_files``)."""
    require(actor, "data.backup")
    out = Path(out)
    if out.exists():
        raise LimsError(f"--out {out}: file exists; choose a new name")
    out.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        tmp = out.with_name(out.name + ".partial")
        tmp.unlink(missing_ok=True)
        _sqlite_copy(_sqlite_path(engine), tmp)
        con = sqlite3.connect(tmp)
        try:
            con.execute("PRAGMA journal_mode=DELETE")
        finally:
            con.close()
        check_sqlite_file(tmp)
        head = chainhead.sqlite_file_event(tmp)
        _fsync(tmp)
        tmp.replace(out)
    else:
        with engine.connect() as conn:   # the dump holds at least this head
            head = chainhead.current_head(conn)
        _pg_dump(engine, out)
    digest = sha256_file(out)
    files = backup_files.backup_files(var_dir, out) if var_dir is not None else None
    extra = {"attachments": files} if files is not None else {}
    noted = chainhead.write_head(chainhead.sidecar(out), head[0], head[1], sha256=digest,
                                 backend=engine.dialect.name, backup=out.name, **extra)
    return BackupReport(out, engine.dialect.name, out.stat().st_size, digest, now(), head=noted,
                        attachments=files)


def restore_database(*, engine: sa.Engine, actor: Actor, source: Path, backup_dir: Path,
                     journal_root: Path | None = None, tz: ZoneInfo | None = None,
                     profile_dirs: tuple[Path, ...] = (), var_dir: Path | None = None
                     ) -> BackupReport:
    """Replace the database's content with the backup ``source``, under the maintenance lock.

    With ``var_dir``, the attachment files beside the backup are checked first and the missing
    or different ones written back after the database (``backup_files``).

    SQLite: the current content is saved first as ``pre-restore-…`` in ``backup_dir``. Records a
    ``database.restore`` audit event in the restored database, then (with ``journal_root``)
    replays the instrument journal so readings received after the backup are stored again."""
    require(actor, "data.restore")
    source = Path(source)
    if not source.is_file():
        raise LimsError(f"restore: {source}: no such file")
    digest = sha256_file(source)
    noted = chainhead.check_backup(source, digest)   # the backup still holds its noted chain head
    files_src = backup_files.check_files(source, noted) if var_dir is not None else None
    safety = None
    if engine.dialect.name == "sqlite":
        check_sqlite_file(source)
        db = _sqlite_path(engine).resolve()
        with maintenance.exclusive(db):
            if db.exists():
                safety = backup_dir / f"pre-restore-{_stamp()}.sqlite3"
                n = 1
                while safety.exists():      # two restores in the same second
                    safety = backup_dir / f"pre-restore-{_stamp()}-{n}.sqlite3"
                    n += 1
                backup_database(engine=engine, actor=actor, out=safety)
            engine.dispose()
            _sqlite_copy(source, db)
            replayed = _after_copy_in(engine, actor, source, digest, journal_root, tz,
                                      profile_dirs)
    else:
        if noted and noted["event_id"] and noted.get("backend") == "postgresql":
            _check_pg_head(engine, source, noted)   # before anything is replaced
        _pg_restore(engine, source)
        replayed = _after_copy_in(engine, actor, source, digest, journal_root, tz, profile_dirs)
    files = backup_files.restore_files(files_src, var_dir) if files_src is not None else None
    return BackupReport(source, engine.dialect.name, source.stat().st_size, digest, now(),
                        safety=safety, replayed=replayed, head=noted, attachments=files)


def _after_copy_in(engine: sa.Engine, actor: Actor, source: Path, digest: str,
                   journal_root: Path | None, tz: ZoneInfo | None,
                   profile_dirs: tuple[Path, ...]) -> dict | None:
    engine.dispose()
    from sqlmodel import Session

    from lims.security import audit

    with Session(engine) as s:
        audit.record(session=s, actor=actor, action="database.restore", entity="database",
                     entity_id=engine.dialect.name, new={"file": source.name, "sha256": digest})
        s.commit()
    chainhead.update_head_file(engine, force=True)   # the restored chain is the head now
    if journal_root is None or tz is None:
        return None
    return replay_journal(engine=engine, journal_root=journal_root, tz=tz,
                          profile_dirs=profile_dirs)


def replay_journal(*, engine: sa.Engine, journal_root: Path, tz: ZoneInfo,
                   profile_dirs: tuple[Path, ...] = ()) -> dict:
    """Replay every instrument's journal from the day of its (restored) listener offset: the
    readings journalled after the backup was taken are stored again; the ones already in the
    database are recognised by their ingest keys. Counts per instrument serial."""
    from sqlmodel import Session

    from lims.listening import journal as jr
    from lims.listening.events import InstrumentContext
    from lims.listening.processor import replay
    from lims.models import ListenerOffset

    out: dict = {}
    for serial in jr.serials(journal_root):
        with Session(engine) as s:
            try:
                ctx = InstrumentContext.load(s, serial, profile_dirs)
            except NotFound:
                out[serial] = {"skipped": "not an instrument of the restored database"}
                continue
            off = s.get(ListenerOffset, serial)
        since = None
        if off is not None and len(off.journal_file) >= 8 and off.journal_file[:8].isdigit():
            name = off.journal_file[:8]
            since = date(int(name[:4]), int(name[4:6]), int(name[6:8]))
        out[serial] = replay(engine=engine, ctx=ctx, journal_root=journal_root, tz=tz,
                             since=since).__dict__
    return out


# ---- PostgreSQL ----------------------------------------------------------------------------


def _pg_args(engine: sa.Engine) -> tuple[list[str], dict[str, str]]:
    url = engine.url
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # not on the command line (ps would show it)
    return args, env


def _guidance(engine: sa.Engine, tool: str, path: Path) -> str:
    args, _ = _pg_args(engine)
    target = " ".join(args)
    if tool == "pg_dump":
        cmd = f"pg_dump --format=custom --file {path} {target}"
    else:
        cmd = f"pg_restore --clean --if-exists --no-owner --single-transaction {target} {path}"
    return (f"{tool} is not on the PATH. Install the PostgreSQL client tools (same major version "
            f"as the server) and run:\n  {cmd}\n(password in PGPASSWORD or ~/.pgpass)")


def _run(engine: sa.Engine, tool: str, extra: list[str], path: Path,
         positional: list[str] | None = None) -> None:
    exe = shutil.which(tool)
    if exe is None:
        raise LimsError(_guidance(engine, tool, path))
    args, env = _pg_args(engine)
    proc = subprocess.run([exe, *extra, *args, *(positional or [])], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LimsError(f"{tool} failed ({proc.returncode}): {proc.stderr.strip()[:2000]}")


def _pg_dump(engine: sa.Engine, out: Path) -> None:
    tmp = out.with_name(out.name + ".partial")
    _run(engine, "pg_dump", ["--format=custom", "--file", str(tmp)], out)
    _fsync(tmp)
    tmp.replace(out)


def _pg_dump_event_hash(engine: sa.Engine, source: Path, event_id: int) -> str:
    """The hash of audit event ``event_id`` in a custom-format dump ('' when it holds no such
    event), read from ``pg_restore --data-only --table=audit_event --file=-`` (no database
    involved), streamed: the audit table may be large."""
    exe = shutil.which("pg_restore")
    if exe is None:
        raise LimsError(_guidance(engine, "pg_restore", source))
    proc = subprocess.Popen([exe, "--data-only", "--table=audit_event", "--file=-", str(source)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", errors="replace")
    found, cols = "", None
    try:
        for line in proc.stdout:
            if cols is None:
                if line.startswith("COPY ") and "audit_event (" in line:
                    cols = [c.strip().strip('"') for c in
                            line[line.index("(") + 1:line.index(")")].split(",")]
                    id_at, hash_at = cols.index("id"), cols.index("hash")
                continue
            if line.startswith("\\."):
                break
            fields = line.rstrip("\n").split("\t")
            if fields[id_at] == str(event_id):
                found = fields[hash_at]
                break
    finally:
        proc.kill()
        _out, err = proc.communicate()
    if cols is None and proc.returncode not in (0, -9):
        raise LimsError(f"pg_restore failed ({proc.returncode}): {err.strip()[:2000]}")
    return found


def _check_pg_head(engine: sa.Engine, source: Path, noted: dict) -> None:
    """The dump still holds the chain head noted when it was written (as ``chainhead.
    check_backup`` checks a SQLite backup): refuse the restore otherwise."""
    if _pg_dump_event_hash(engine, source, noted["event_id"]) != noted["hash"]:
        raise LimsError(f"restore: {source}: its audit chain does not hold the head noted "
                        f"when it was written (event {noted['event_id']}, hash "
                        f"{noted['hash']}); the backup was altered")


def _pg_restore(engine: sa.Engine, source: Path) -> None:
    engine.dispose()
    _run(engine, "pg_restore", ["--clean", "--if-exists", "--no-owner", "--single-transaction"],
         source, positional=[str(source)])
