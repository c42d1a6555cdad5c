"""Engine and sessions. SQLite runs in WAL mode with foreign keys on; PostgreSQL as is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

from lims.settings import int_setting, load_settings


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict = {"timeout": 30}
        if path and path != ":memory:" and not path.startswith("file:"):
            from lims.storage.maintenance import connection_class

            # writes wait while `lims restore` holds the maintenance lock (storage.maintenance)
            connect_args["factory"] = connection_class(Path(path).resolve())
        cache_kib = sqlite_cache_mb() * 1024
        engine = sa.create_engine(url, connect_args=connect_args)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA cache_size=-{cache_kib}")   # negative: KiB, not pages
            cur.close()

        return engine
    # psycopg prepares a statement on the server once it has run five times on a connection,
    # and after five more PostgreSQL may plan it generically, blind to the values. The bulk
    # paths send the same text many times with 500 ids each: grading's look-up of which
    # positives' samples wait for re-tests took 4.4-8.0 s prepared, 0.74-0.90 s unprepared, for
    # the 4 700 vendors of a batch from every market at 10 M while the tables' statistics were
    # stale after a bulk load (docs/performance.md). Planning costs well under a millisecond.
    connect_args = {"prepare_threshold": None} if url.startswith("postgresql+psycopg") else {}
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def sqlite_cache_mb() -> int:
    """The page cache of each SQLite connection in MB (setting LIMS_SQLITE_CACHE_MB)."""
    return int_setting("LIMS_SQLITE_CACHE_MB", 2, 65536, unit=" of MB")


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    return make_engine(url)


def get_engine() -> sa.Engine:
    """The engine for the configured database (cached per URL)."""
    return engine_for(load_settings().database_url)


@contextmanager
def session_scope(engine: sa.Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def begin_write(session: Session, lock_key: int | None = None) -> None:
    """Make the session's transaction a write transaction now, before it reads what it will
    write after (read-modify-write without a lost update).

    SQLite: the driver opens a transaction only at the first INSERT/UPDATE/DELETE, so reads before
    it are not isolated; this issues ``BEGIN IMMEDIATE`` (waiting up to busy_timeout for another
    writer) when no transaction is open yet. PostgreSQL: with ``lock_key``, takes a
    transaction-scoped advisory lock so writers of the same thing queue up.
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.dbapi_connection
        if dbapi is not None and not dbapi.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql" and lock_key is not None:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(lock_key)})")
