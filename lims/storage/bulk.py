"""Bulk writes for the hot paths (ingest, rollups): one DBAPI call per batch, no per-row ORM.

SQLAlchemy's executemany processes every row's parameters in Python (a dict per row, then each
value through its type); at ingest rates that cost more than SQLite's insert itself. Here the
values are converted column by column with the columns' own bind processors, each distinct
date/timestamp once, and handed to the driver's ``executemany``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session


def sqlite_executemany(conn: sa.Connection, table: sa.Table, rows: list[dict],
                       suffix: str = "") -> None:
    """``INSERT INTO table (…) VALUES (?, …) <suffix>`` for every row, in one executemany."""
    if not rows:
        return
    names = list(rows[0])
    procs = [table.c[n].type.bind_processor(conn.dialect) for n in names]
    sql = (f"INSERT INTO {table.name} ({', '.join(names)}) "
           f"VALUES ({', '.join('?' * len(names))}) {suffix}")
    columns = [[r[n] for r in rows] for n in names]
    for i, proc in enumerate(procs):
        if proc is None:
            continue
        if isinstance(table.c[names[i]].type, sa.JSON):
            columns[i] = [proc(v) for v in columns[i]]
        else:  # dates and timestamps repeat within a batch: convert each distinct value once
            memo = {v: proc(v) for v in set(columns[i])}
            columns[i] = [memo[v] for v in columns[i]]
    conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))


def upsert_insert(dialect: str, table: sa.Table):
    """``INSERT`` into ``table`` with the dialect's ``ON CONFLICT`` clauses
    (``on_conflict_do_nothing`` / ``on_conflict_do_update``): PostgreSQL's or SQLite's."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def among(bind: sa.Connection | Session, column: sa.ColumnElement, values: list) -> sa.ColumnElement[bool]:
    """``column IN values`` for the hot paths' chunked look-ups (500 ids per statement).

    On PostgreSQL it is ``column = ANY(:values)``, one array parameter: an ``IN`` list is sent
    as 500 parameters, and SQLAlchemy rendered each (with its cast) and psycopg parsed the long
    statement again on every execution (too long for its cache). Grading 4 700 vendors spent
    0.8 s of its 1.1 s of CPU on that. SQLite has no arrays: there it is ``IN``."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
