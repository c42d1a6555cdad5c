"""The maintenance lock: while a restore runs, no process writes to the SQLite database.

Two lock files live beside the database file (``<db>-maintenance`` and ``<db>-maintenance-intent``,
like SQLite's own ``-wal``/``-shm``), so every process that opens that file agrees on them,
whatever its ``LIMS_VAR_DIR``. Every write transaction of every engine made by
``lims.storage.engine.make_engine`` takes a **shared** ``flock`` on ``-maintenance`` before its
first write statement (INSERT/UPDATE/DELETE/DDL/``BEGIN IMMEDIATE``) and drops it after its
commit or rollback has completed (the DBAPI connection class below does it, so a commit is
finished before the lock is free). ``exclusive(db)`` — what ``lims restore`` holds for the whole
safety copy, copy-in and journal replay — first takes ``-maintenance-intent`` exclusively (new
writers then wait), then waits until the writers already inside a transaction have finished and
takes ``-maintenance`` exclusively. A writer waits up to ``WAIT_SECONDS`` and is then refused with
``MaintenanceLocked`` ("maintenance: a restore is running, try again in a moment"). That error is
both a ``LimsError`` (the CLI, the API and the app's forms show its message) and an SQLAlchemy
``OperationalError`` (a listener treats it like a busy database: it journals and answers, then
stores again with back-off). The process holding the exclusive lock writes freely.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from lims.errors import LimsError

log = logging.getLogger("lims.maintenance")

MESSAGE = "maintenance: a restore is running, try again in a moment"
#: How long a writer waits for a running restore before it is refused.
WAIT_SECONDS = 30.0
#: How long a restore waits for the writers already in a transaction.
DRAIN_SECONDS = 60.0
_POLL = 0.02
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|BEGIN\s+(IMMEDIATE|"
                    r"EXCLUSIVE)|WITH\b.*\b(INSERT|UPDATE|DELETE)\b)", re.IGNORECASE | re.DOTALL)

_held_here: set[str] = set()       # lock paths this process holds exclusively (a restore)
_held_guard = threading.Lock()


class MaintenanceLocked(LimsError, sa.exc.OperationalError):
    """A restore holds the maintenance lock: the write was not done; try again in a moment."""

    def __init__(self, message: str = MESSAGE):
        Exception.__init__(self, message)
        self.statement = None
        self.params = None
        self.orig = None
        self.hide_parameters = False
        self.connection_invalidated = False
        self.detail = []
        self.code = None
        self.ismulti = None

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self):
        return (type(self), (str(self.args[0]),))


def lock_path(db: Path) -> Path:
    return Path(f"{db}-maintenance")


def intent_path(db: Path) -> Path:
    return Path(f"{db}-maintenance-intent")


def is_write(statement: str) -> bool:
    return bool(_WRITE.match(statement))


def _open(path: Path) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    except OSError as exc:       # a read-only directory: nobody can restore there either
        log.warning("maintenance lock %s unavailable (%s); writes are not guarded", path, exc)
        return None


def _try(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class _Guard:
    """The shared lock of one DBAPI connection (one open file description per connection)."""

    def __init__(self, db: Path):
        self.path, self.intent = lock_path(db), intent_path(db)
        self.fd: int | None = None
        self.held = False

    def acquire(self, wait: float | None = None) -> None:
        if self.held or str(self.path) in _held_here:
            return
        if self.fd is None:
            self.fd = _open(self.path)
            if self.fd is None:
                return
        intent = _open(self.intent)
        deadline = time.monotonic() + (WAIT_SECONDS if wait is None else wait)
        try:
            while True:
                # a restore announces itself on the intent file first: do not slip in behind it
                free = intent is None or _try(intent, fcntl.LOCK_SH)
                if free:
                    if intent is not None:
                        fcntl.flock(intent, fcntl.LOCK_UN)
                    if _try(self.fd, fcntl.LOCK_SH):
                        self.held = True
                        return
                if time.monotonic() >= deadline:
                    raise MaintenanceLocked()
                time.sleep(_POLL)
        finally:
            if intent is not None:
                os.close(intent)

    def release(self) -> None:
        if self.held and self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.held = False

    def close(self) -> None:
        self.release()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def connection_class(db: Path) -> type[sqlite3.Connection]:
    """A ``sqlite3.Connection`` class that takes the shared lock before a write statement and
    releases it once the transaction has ended (commit/rollback returned, or close)."""

    class _Cursor(sqlite3.Cursor):
        def execute(self, sql, *args):
            if is_write(sql):
                self.connection._maint.acquire()
            return super().execute(sql, *args)

        def executemany(self, sql, *args):
            if is_write(sql):
                self.connection._maint.acquire()
            return super().executemany(sql, *args)

        def executescript(self, script):
            self.connection._maint.acquire()
            return super().executescript(script)

    class GuardedConnection(sqlite3.Connection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._maint = _Guard(db)

        def cursor(self, factory=_Cursor):
            return super().cursor(factory)

        def execute(self, sql, *args):
            return self.cursor().execute(sql, *args)

        def executemany(self, sql, *args):
            return self.cursor().executemany(sql, *args)

        def commit(self):
            try:
                super().commit()
            finally:
                if not self.in_transaction:
                    self._maint.release()

        def rollback(self):
            try:
                super().rollback()
            finally:
                if not self.in_transaction:
                    self._maint.release()

        def close(self):
            try:
                super().close()
            finally:
                self._maint.close()

    return GuardedConnection


@contextmanager
def exclusive(db: Path, *, drain: float | None = None) -> Iterator[None]:
    """Hold the maintenance lock of the SQLite file ``db``: new writers wait (then are refused),
    writers inside a transaction are waited for (LimsError after ``drain`` seconds)."""
    intent_fd = os.open(intent_path(db), os.O_RDWR | os.O_CREAT, 0o664)
    fd = os.open(lock_path(db), os.O_RDWR | os.O_CREAT, 0o664)
    deadline = time.monotonic() + (DRAIN_SECONDS if drain is None else drain)
    try:
        while not _try(intent_fd, fcntl.LOCK_EX):
            if time.monotonic() >= deadline:
                raise LimsError("maintenance: another restore is running; try again later")
            time.sleep(_POLL)
        while not _try(fd, fcntl.LOCK_EX):
            if time.monotonic() >= deadline:
                raise LimsError("maintenance: writers did not finish their transactions within "
                                f"{DRAIN_SECONDS if drain is None else drain:.0f} s; nothing was "
                                "changed, try again")
            time.sleep(_POLL)
        with _held_guard:
            _held_here.add(str(lock_path(db)))
        try:
            yield
        finally:
            with _held_guard:
                _held_here.discard(str(lock_path(db)))
    finally:
        os.close(fd)          # closing drops the flocks
        os.close(intent_fd)
