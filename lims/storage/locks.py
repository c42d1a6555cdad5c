"""Locks that outlive a transaction: one process at a time for a long, multi-transaction job.

``exclusive(engine, name)`` yields whether this process got the lock called ``name``; it is
held until the block ends. On PostgreSQL it is a session advisory lock on a connection of its
own: it holds across the job's many short transactions, for every process and machine using
the database, and the server frees it when the process dies (no stale lock to clear). On SQLite
(one station's file) it yields True: one transaction writes at a time there, so two jobs
interleave instead of clashing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

NAMESPACE = 0x4C494D49   # advisory lock class of these locks ("LIMI"; the chain's is "LIMS")


def _key(name: str) -> int:
    """``name`` as the int4 object id of a two-key advisory lock."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big",
                          signed=True)


@contextmanager
def exclusive(engine: sa.Engine, name: str) -> Iterator[bool]:
    """Try to take the lock ``name`` without waiting; yields whether it was taken."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    conn = engine.connect()
    try:
        got = bool(conn.exec_driver_sql(
            f"SELECT pg_try_advisory_lock({NAMESPACE}, {_key(name)})").scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({NAMESPACE}, {_key(name)})")
                conn.commit()
    finally:
        conn.close()
