"""Monthly range partitioning of ``test_result`` on PostgreSQL, for the central server.

Opt-in (``lims partition --apply``), because it changes constraints other code relies on:

* the partition key is ``local_date`` (the test's local day); PostgreSQL requires every unique
  constraint of a partitioned table to include it, so the primary key becomes
  ``(id, local_date)`` and idempotency ``UNIQUE (ingest_key, local_date)``. The ingest service
  checks keys itself before inserting, and one reading always has one test date, so behaviour is
  unchanged; ids stay unique (one sequence);
* foreign keys that point AT ``test_result(id)`` (re-tests, cases, alerts …) cannot be kept — no
  unique constraint on ``id`` alone — and are dropped (listed in the plan); the services keep
  those references valid, and results are never deleted;
* foreign keys FROM ``test_result``, indexes and triggers (the delete refusal) are recreated on
  the partitioned table; a DEFAULT partition catches dates outside the monthly ones.

Re-running on a partitioned table only adds the monthly partitions that are missing
(``months_ahead`` after the newest result and at least the current month). SQLite is never
partitioned: rollups already make the dashboard independent of the table's size there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from lims.errors import LimsError
from lims.timeutil import local_date, now

TABLE = "test_result"
OLD = "test_result_unpartitioned"


@dataclass
class Plan:
    partitioned: bool                    # the table is partitioned already
    statements: list[str] = field(default_factory=list)
    dropped_foreign_keys: list[str] = field(default_factory=list)
    months: list[str] = field(default_factory=list)


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _months(first: date, last: date) -> list[date]:
    out, m = [], _month_start(first)
    while m <= last:
        out.append(m)
        m = _next_month(m)
    return out


def _partition_ddl(m: date) -> tuple[str, str]:
    name = f"{TABLE}_y{m.year}m{m.month:02d}"
    return name, (f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} "
                  f"FOR VALUES FROM ('{m.isoformat()}') TO ('{_next_month(m).isoformat()}')")


def is_partitioned(conn: sa.Connection) -> bool:
    return conn.execute(sa.text(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = :t AND c.relnamespace = 'public'::regnamespace"),
        {"t": TABLE}).scalar() is not None


def plan(conn: sa.Connection, *, months_ahead: int = 12, today: date | None = None) -> Plan:
    """The DDL that partitions ``test_result`` by month (or adds missing months)."""
    if conn.dialect.name != "postgresql":
        raise LimsError("partitioning is for PostgreSQL (the central server); this database is "
                        f"{conn.dialect.name}")
    today = today or local_date(now())  # the configured zone's today (LIMS_TIMEZONE, LIMS_CLOCK)
    lo, hi = conn.execute(sa.text(f"SELECT min(local_date), max(local_date) FROM {TABLE}")).one()
    first = lo or today
    last = max(hi or today, today)
    horizon = last
    for _ in range(months_ahead):
        horizon = _next_month(horizon)
    months = _months(first, horizon)
    if is_partitioned(conn):
        existing = {r[0] for r in conn.execute(sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:t AS regclass)"), {"t": TABLE})}
        p = Plan(True)
        for m in months:
            name, ddl = _partition_ddl(m)
            if name not in existing:
                p.statements.append(ddl)
                p.months.append(name)
        return p

    p = Plan(False)
    q = p.statements.append
    incoming = conn.execute(sa.text(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = CAST(:t AS regclass)"), {"t": TABLE}).all()
    for rel, name in incoming:
        q(f'ALTER TABLE {rel} DROP CONSTRAINT "{name}"')
        p.dropped_foreign_keys.append(f"{rel}.{name}")
    outgoing = [(n, d) for n, d in conn.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = CAST(:t AS regclass) AND confrelid <> conrelid"),
        {"t": TABLE})]
    indexes = [d for (d,) in conn.execute(sa.text(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = :t "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)"), {"t": TABLE})]
    triggers = [d for (d,) in conn.execute(sa.text(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal"), {"t": TABLE})]
    seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": TABLE}).scalar()
    q(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    for d in indexes:  # index names must be free for the new table
        name = d.split(" INDEX ", 1)[1].split(" ON ", 1)[0].strip()
        q(f'ALTER INDEX "{name}" RENAME TO "{name[:50]}_unpart"')
    q(f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
      "INCLUDING GENERATED) PARTITION BY RANGE (local_date)")
    q(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey_part PRIMARY KEY (id, local_date)")
    q(f"ALTER TABLE {TABLE} ADD CONSTRAINT uq_{TABLE}_ingest_key_day "
      "UNIQUE (ingest_key, local_date)")
    if seq:
        q(f"ALTER SEQUENCE {seq} OWNED BY {TABLE}.id")
    for m in months:
        name, ddl = _partition_ddl(m)
        q(ddl)
        p.months.append(name)
    q(f"CREATE TABLE IF NOT EXISTS {TABLE}_default PARTITION OF {TABLE} DEFAULT")
    for name, d in outgoing:
        q(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {d}')
    for d in indexes:  # read before the rename, so they name the new table
        if d.startswith("CREATE UNIQUE INDEX"):  # unique needs the partition key
            d = d[:-1] + ", local_date)"
        q(d)
    p.statements.extend(triggers)  # the delete refusal and other row triggers
    q(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
    q(f"DROP TABLE {OLD}")
    q(f"ANALYZE {TABLE}")
    return p


def apply(engine: sa.Engine, *, months_ahead: int = 12, today: date | None = None) -> Plan:
    """Partition (or extend) in one transaction; nothing changes if a statement fails."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"))
        p = plan(conn, months_ahead=months_ahead, today=today)
        for stmt in p.statements:
            conn.exec_driver_sql(stmt)
    return p
