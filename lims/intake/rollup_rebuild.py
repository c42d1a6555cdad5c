"""`lims rollups rebuild` in bounded transactions (issue 18): the instrument listeners never wait
long for the write lock while the rollups are recomputed.

``rollups.rebuild`` does everything in the caller's one transaction (fine for a generator that
owns the database). ``rebuild_in_slices`` commits many short transactions instead:

1. the ``counts`` flags, per slice of ``samples_per_slice`` samples (keyset by sample id): the
   results of those samples are counted again (``counting.recount``) and the flags that differ
   are updated;
2. the rollup tables keyed by week, per slice of ``weeks_per_slice`` ISO weeks (4 ≈ a month):
   the groups of those weeks are deleted and inserted again from the base table;
3. the vendor × month rollup (issue 17), per slice of ``max(1, weeks_per_slice // 4)`` months,
   likewise (the months of the weeks of phase 2, and any month the table holds).

Why it is race-free with the intake's incremental updates (which, in ONE transaction, insert
results, set their samples' flags and add their differences with ``INSERT … ON CONFLICT DO
UPDATE SET n = n + excluded.n``):

* every slice first becomes the only writer of ``test_result`` and the rollup tables, then reads
  and writes. SQLite: ``BEGIN IMMEDIATE`` takes the database's single write lock before the
  first read, so no other transaction commits between the slice's reads and its writes.
  PostgreSQL (READ COMMITTED): ``LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE`` conflicts with the
  ROW EXCLUSIVE lock every INSERT/UPDATE takes, so the slice waits for the writers already busy
  to commit and later writers wait for the slice; each statement's snapshot (taken after the
  lock) therefore holds every committed result and nothing half-written. Without the lock an
  ingest that inserted a new group row while the slice deleted could be counted twice (its
  delta row survives the DELETE, its results are in the re-aggregation), and a flag written by
  an ingest could be overwritten by the slice's older view of the sample. Readers never wait.
* a slice's rows are exact when it commits; a later ingest adds its exact difference to them
  (the flags it reads are final: phase 1 is done before phase 2 starts, and ingests keep the
  flags right), and an ingest's difference added to a group before its slice is discarded by
  the slice's delete and recomputed from the base table. So the tables are exact at the end,
  as ``rollups.check`` confirms.

Between slices no lock is held: the listeners' writes go through (tests/lims/intake/
test_rollup_rebuild.py proves it with a second process and a short busy timeout).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from lims.intake import counting, rollups, vendor_rollups
from lims.storage.engine import begin_write

Progress = Callable[[str, int, int], None]
SAMPLES_PER_SLICE = 5000
WEEKS_PER_SLICE = 4
_WEEK_ENDS = (timedelta(0), timedelta(days=6))
_T = rollups._T
_BY_WEEK = {n: t for n, t in rollups._TABLES.items() if "week_start" in t.c}
_VM = vendor_rollups.VM


def _only_writer(session: Session) -> None:
    """Make this transaction the only writer of the results and rollups (module docstring)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        names = ", ".join(t.name for t in (_T, *rollups._TABLES.values()))
        conn.exec_driver_sql(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
    else:
        begin_write(session)


def _weeks(engine: sa.Engine) -> list[date]:
    """Every week that has counting results or rollup rows (stale groups are deleted too)."""
    with engine.connect() as conn:
        found = set(conn.execute(sa.select(_T.c.count_week).distinct()
                                 .where(_T.c.count_week.is_not(None))).scalars())
        for table in _BY_WEEK.values():
            found.update(conn.execute(sa.select(table.c.week_start).distinct()).scalars())
    return sorted({rollups._norm((w,))[0] for w in found})


def _recount_slice(engine: sa.Engine, after: int, limit: int) -> tuple[int, int]:
    """Count the samples after sample id ``after`` (at most ``limit``) again, in one committed
    transaction. Returns (last sample id, samples done)."""
    with Session(engine) as s:
        _only_writer(s)
        ids = list(s.connection().execute(
            sa.select(_T.c.sample_id).distinct().where(_T.c.sample_id > after)
            .order_by(_T.c.sample_id).limit(limit)).scalars())
        if ids:
            counting.recount(session=s, sample_ids=ids)
        s.commit()
    return (ids[-1] if ids else after), len(ids)


def _recompute_weeks(engine: sa.Engine, weeks: list[date]) -> None:
    """Delete the groups of ``weeks`` and aggregate them again, in one committed transaction."""
    with Session(engine) as s:
        _only_writer(s)
        conn = s.connection()
        for name, q in rollups.fresh_queries().items():
            table = _BY_WEEK.get(name)
            if table is None:
                continue
            conn.execute(table.delete().where(table.c.week_start.in_(weeks)))
            conn.execute(table.insert().from_select(
                [c.name for c in table.columns],
                rollups.in_time_order(name, q.where(_T.c.count_week.in_(weeks)))))
        s.commit()


def _months(engine: sa.Engine, weeks: list[date]) -> list[date]:
    """The months of ``weeks`` (a count date lies in its count week) and of the stored
    vendor × month rows."""
    found = {vendor_rollups.month_of(w + d) for w in weeks for d in _WEEK_ENDS}
    with engine.connect() as conn:
        found.update(conn.execute(sa.select(_VM.c.month_start).distinct()).scalars())
    return sorted({rollups._norm((m,))[0] for m in found})


def _recompute_months(engine: sa.Engine, months: list[date]) -> None:
    """Delete the vendor × month groups of ``months`` and aggregate them again, in one
    committed transaction."""
    ms = vendor_rollups.month_start(_T.c.count_date)
    q = vendor_rollups.fresh_queries()["rollup_vendor_month"].where(
        _T.c.count_date >= months[0], _T.c.count_date < vendor_rollups.next_month(months[-1]),
        ms.in_(months))
    with Session(engine) as s:
        _only_writer(s)
        conn = s.connection()
        conn.execute(_VM.delete().where(_VM.c.month_start.in_(months)))
        conn.execute(_VM.insert().from_select([c.name for c in _VM.columns],
                                              rollups.in_time_order("rollup_vendor_month", q)))
        s.commit()


def rebuild_in_slices(*, engine: sa.Engine, recount: bool = True,
                      samples_per_slice: int = SAMPLES_PER_SLICE,
                      weeks_per_slice: int = WEEKS_PER_SLICE,
                      progress: Progress | None = None) -> dict[str, int]:
    """Set every result's ``counts`` flags by the rule (unless ``recount`` is False), then
    recompute every rollup, each slice its own committed transaction. ``progress(stage, done,
    total)`` is called after each commit (stage "samples" or "weeks"), outside any transaction.
    Returns the row count of each table."""
    samples_per_slice = max(1, int(samples_per_slice))
    weeks_per_slice = max(1, int(weeks_per_slice))
    if recount:
        with engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count(_T.c.sample_id.distinct()))).scalar_one()
        last, done = 0, 0
        while True:
            last, n = _recount_slice(engine, last, samples_per_slice)
            if not n:
                break
            done += n
            if progress:
                progress("samples", done, max(total, done))
    weeks = _weeks(engine)
    for i in range(0, len(weeks), weeks_per_slice):
        _recompute_weeks(engine, weeks[i:i + weeks_per_slice])
        if progress:
            progress("weeks", min(i + weeks_per_slice, len(weeks)), len(weeks))
    months = _months(engine, weeks)
    per = max(1, weeks_per_slice // 4)
    for i in range(0, len(months), per):
        _recompute_months(engine, months[i:i + per])
        if progress:
            progress("months", min(i + per, len(months)), len(months))
    with engine.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for name, t in rollups._TABLES.items()}
