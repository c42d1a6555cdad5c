"""Bulk writes of new samples and results for the intake pipeline.

One batch, one DBAPI call per table (the ORM's per-object bookkeeping cost more than judging;
docs/performance.md). New ids come back in order: from SQLite's rowid order, or on PostgreSQL
after ``COPY`` by a look-up on a unique column.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import Session

from lims.errors import Conflict
from lims.intake import counting
from lims.intake.readings import new_sample_code
from lims.models import Sample, TestResult
from lims.security import seals
from lims.storage import bulk


def free_codes(session: Session, rows: list[dict], fixed: set[int]) -> None:
    """Give every new sample a code unique in the batch and in the table. Drawn codes are
    redrawn on collision; a code the reading gave (row index in ``fixed``) is never changed."""
    for _attempt in range(20):
        codes = [r["code"] for r in rows]
        taken: set[str] = set()
        for i in range(0, len(codes), 500):
            taken.update(session.execute(sa.select(Sample.__table__.c.code).where(
                bulk.among(session, Sample.__table__.c.code, codes[i:i + 500]))).scalars())
        seen: set[str] = set()
        clash = False
        for i, r in enumerate(rows):
            if r["code"] in taken or r["code"] in seen:
                if i in fixed:
                    raise Conflict(f"sample code {r['code']} was taken by another writer "
                                   "meanwhile; send the reading again")
                r["code"] = new_sample_code(r["taken_at"].date())
                clash = True
            seen.add(r["code"])
        if not clash:
            return
    raise Conflict("could not draw free sample codes after 20 attempts")


def insert_samples(session: Session, rows: list[dict], fixed: set[int] | None = None) -> list[int]:
    """Insert new samples; a drawn code another writer took meanwhile is redrawn (PostgreSQL:
    the insert runs in a savepoint and is retried; SQLite: the write lock is held, no race).

    PostgreSQL tries the insert first and looks codes up only after a clash: the unique index
    checks them anyway, and a batch's look-up of random codes read one index page per code (at
    10 M samples, ~70 ms of a 1 000-reading batch) to find a clash about once in a hundred."""
    if not rows:
        return []
    sqlite = session.connection().dialect.name == "sqlite"
    for attempt in range(5):
        if sqlite or attempt:
            free_codes(session, rows, fixed or set())
        if sqlite:
            return _insert_ids(session, Sample.__table__, rows, "code")
        try:
            with session.begin_nested():
                return _insert_ids(session, Sample.__table__, rows, "code")
        except sa.exc.IntegrityError as exc:
            if "code" not in str(exc.orig):
                raise
    raise Conflict("sample codes kept colliding with another writer's; try again")


def insert_ids(session: Session, table: sa.Table, rows: list[dict], key: str) -> list[int]:
    """Insert ``rows`` in one batch; their new ids in order, found by the unique column ``key``.

    New test results are sealed (``lims.security.seals``): each row's seal goes in with the
    INSERT, and one audit event chains the batch's seals. A row of a staged import comes sealed
    with the status it will be published with (``lims.intake.staging``).
    """
    if table is not TestResult.__table__ or not rows:
        return _insert_ids(session, table, rows, key)
    seals.seal_rows([r for r in rows if not r.get("seal")])   # (a staged row: sealed already)
    ids = _insert_ids(session, table, rows, key)
    seals.record_batch(session, ids, [r["seal"] for r in rows])
    return ids


#: ``n`` ids from a table's sequence. The sequence is looked up once: called in the select list,
#: ``pg_get_serial_sequence`` ran for every id and took six times as long as the ids themselves.
_NEXT_IDS = sa.text("WITH s AS MATERIALIZED (SELECT CAST(pg_get_serial_sequence(:t, 'id') AS "
                    "regclass) AS seq) SELECT nextval(s.seq) FROM s, generate_series(1, :n)")


def _insert_ids(session: Session, table: sa.Table, rows: list[dict], key: str) -> list[int]:
    """Insert ``rows`` in one batch; their new ids in order (the unique column ``key`` checks
    SQLite's, or finds them when the check fails).

    (``INSERT … RETURNING`` for many rows degrades to one statement per row here, on SQLite
    and with psycopg, so ids come from SQLite's rowid order, checked by ``key`` at both ends,
    or from PostgreSQL's sequence before the COPY (there each row dict gets its ``id``).)
    """
    if not rows:
        return []
    if table is TestResult.__table__ and "counts" not in rows[0]:
        for r in rows:   # pass-rate flags as if each were its sample's only result; the
            counting.provisional(r)   # rollups' add_results counts the others' samples again
    conn = session.connection()
    dialect = conn.dialect
    col = table.c[key]
    if dialect.name == "sqlite":
        bulk.sqlite_executemany(conn, table, rows)
        # SQLite gives rowid max+1 to each new row, and this transaction holds the write lock
        # since the first row: the ids are the last len(rows) ones. Checked at both ends.
        last = conn.exec_driver_sql(f"SELECT max(id) FROM {table.name}").scalar_one()
        first = last - len(rows) + 1
        ends = dict(session.execute(sa.select(table.c.id, col)
                                    .where(table.c.id.in_([first, last]))).all())
        if ends.get(first) == rows[0][key] and ends.get(last) == rows[-1][key]:
            return list(range(first, last + 1))
    else:  # PostgreSQL: the ids drawn from the table's sequence, then COPY (still checked by
        # constraints and triggers); looking the ids up by key afterwards cost a random index
        # probe per row
        ids = list(conn.execute(_NEXT_IDS, {"t": table.name, "n": len(rows)}).scalars())
        for r, i in zip(rows, ids, strict=True):
            r["id"] = i
        _pg_copy(conn, table, rows)
        return ids
    ids: dict[str, int] = {}
    values = [r[key] for r in rows]
    for i in range(0, len(values), 500):
        ids.update(session.execute(sa.select(col, table.c.id)
                                   .where(bulk.among(session, col, values[i:i + 500]))).all())
    return [ids[v] for v in values]


def _pg_copy(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """``COPY … FROM STDIN`` in the session's transaction; JSON columns as JSON text. Values
    are converted column by column (each distinct timestamp once), as ``bulk`` does for
    SQLite: per row and column in Python, this took more time than the COPY itself."""
    names = list(rows[0])
    columns = [[r[n] for r in rows] for n in names]
    for i, n in enumerate(names):
        if isinstance(table.c[n].type, sa.JSON):
            columns[i] = [json.dumps(v, ensure_ascii=False) for v in columns[i]]
            continue
        proc = table.c[n].type.bind_processor(conn.dialect)
        if proc is not None:
            memo = {v: proc(v) for v in set(columns[i])}
            columns[i] = [memo[v] for v in columns[i]]
    import psycopg

    dbapi = conn.connection.driver_connection
    sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    try:
        with dbapi.cursor() as cur, cur.copy(sql) as copy:
            for values in zip(*columns, strict=True):
                copy.write_row(values)
    except psycopg.IntegrityError as exc:  # as SQLAlchemy would report it (callers retry)
        raise sa.exc.IntegrityError(sql, None, exc) from exc
