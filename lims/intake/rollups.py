"""Pre-aggregated pass-rate rollups, kept exact (issue 8; design in docs/performance.md).

Six tables (lims/models/rollups.py) hold passed/failed/invalid counts of samples, not readings
(issue 16): each sample counts once, with the verdict of its one result flagged ``counts``
(``lims.intake.counting``: a lab result overrules the screen, the last re-test the earlier ones;
held and voided results never count), under the day and ISO week the sample was taken
(``count_date``/``count_week``) — per market × week, per market × day, per county × week ×
commodity × analyte, and per week × commodity × analyte for the whole province; and per vendor ×
week and vendor × month (``lims.intake.vendor_rollups``, issue 17). They change in the same
transaction as the results:

* ``add_results`` — new results (the ingest service): their samples' flags are set (a re-test or
  lab result moves the flag from an earlier result) and the differences are added with an atomic
  upsert (``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``; a sample whose counting
  result changed is taken out, −1, and put in again, +1), so concurrent ingests stay exact;
* ``refresh(keys=…)`` — any other change to a stored result's verdict, status, market, commodity
  or date (corrections, accept/void, deletes): the samples with a result in the touched
  (market_id, week) keys are counted again and the groups of their old and new count weeks are
  recomputed from the base table. Callers pass the keys of the old AND the new values;
* ``rebuild`` sets every flag and recomputes everything, ``check`` lists every flag and group
  that differs from a fresh computation (``lims rollups check``). A market moved to another
  county needs ``rebuild``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from lims.intake import counting, vendor_rollups
from lims.models import Market, TestResult
from lims.models.enums import ResultStatus
from lims.models.rollups import (
    RollupCountyItemWeek,
    RollupItemWeek,
    RollupMarketDay,
    RollupMarketWeek,
)
from lims.storage import bulk
from lims.verdicts import Outcome

RollupKey = tuple[int | None, date]

COUNTED_STATUSES = (ResultStatus.RECORDED.value, ResultStatus.ACCEPTED.value)
PASS_OUTCOMES = tuple(o.value for o in Outcome if o.passes is True)
FAIL_OUTCOMES = tuple(o.value for o in Outcome if o.passes is False)
INVALID_OUTCOMES = tuple(o.value for o in Outcome if o.passes is None)

_T = TestResult.__table__
_M = Market.__table__
W = RollupMarketWeek.__table__
D = RollupMarketDay.__table__
C = RollupCountyItemWeek.__table__
P = RollupItemWeek.__table__
_CHUNK = 400
# literals, not bound parameters: PostgreSQL matches GROUP BY expressions textually
_ZERO = sa.literal_column("0", sa.Integer)
_EMPTY = sa.literal_column("''", sa.String)


def _counts(t=_T.c):
    def n(values):
        return sa.func.coalesce(sa.func.sum(sa.case((t.verdict.in_(values), 1), else_=0)), 0)
    return [n(PASS_OUTCOMES).label("passed"), n(FAIL_OUTCOMES).label("failed"),
            n(INVALID_OUTCOMES).label("invalid")]


def _counted(t=_T.c):
    """The results that count: one per sample (``lims.intake.counting``)."""
    return t.counts == sa.true()


# ------------------------------------------------------------------------------------ upserts

def _upsert_add(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Add the counts of ``rows`` to ``table`` (insert the group when it is new)."""
    if not rows:
        return
    pk = [c.name for c in table.primary_key.columns]
    if conn.dialect.name == "sqlite":  # the same statement without per-row SQLAlchemy work
        bulk.sqlite_executemany(conn, table, rows, suffix=(
            f"ON CONFLICT ({', '.join(pk)}) DO UPDATE SET "
            + ", ".join(f"{n} = {n} + excluded.{n}" for n in ("passed", "failed", "invalid"))))
        return
    # PostgreSQL: one statement over column arrays (unnest), not an executemany whose every
    # row SQLAlchemy converts in Python (every market's batch: ~15 000 groups)
    names = list(rows[0])
    arrays = ", ".join(f"CAST(:c{i} AS {table.c[n].type.compile(dialect=conn.dialect)}[])"
                       for i, n in enumerate(names))
    conn.execute(sa.text(
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(pk)}) DO UPDATE SET "
        + ", ".join(f"{n} = {table.name}.{n} + excluded.{n}" for n in ("passed", "failed",
                                                                       "invalid"))),
        {f"c{i}": [r[n] for r in rows] for i, n in enumerate(names)})


def add_results(*, session: Session, results: Iterable[dict],
                new_samples: frozenset[int] | set[int] = frozenset()) -> int:
    """Count newly stored results into the rollups (same transaction). Returns groups touched.

    Each item is a stored result row (sample_id, ingest_key, market_id, local_date, week_start,
    commodity_id, analyte_id, verdict, status and the flags ``counting.provisional`` gave it).
    A result that is its sample's only one counts as it is; the samples with other results are
    counted again (``counting.recount``) and their differences applied. ``new_samples``: samples
    made with these results (all their results are among them: nothing to read of them).
    """
    rows = list(results)
    per_sample: Counter = Counter(r["sample_id"] for r in rows)
    stored, vendor = _results_per_sample(session, [s for s in per_sample if s not in new_samples])
    stored.update((s, per_sample[s]) for s in per_sample if s in new_samples)
    others = {sid for sid, n in per_sample.items() if n > 1 or stored.get(sid, 0) > n}
    added = [counting.counted_of(r, vendor.get(r["sample_id"])) for r in rows
             if r["sample_id"] not in others and r.get("counts")]
    removed: list[counting.Counted] = []
    if others:
        removed, more = counting.recount(session=session, sample_ids=others,
                                         new_keys=frozenset(r["ingest_key"] for r in rows))
        added += more
    return apply(session=session, added=added, removed=removed)


def _results_per_sample(session: Session, sample_ids: list[int],
                        ) -> tuple[dict[int, int], dict[int, int | None]]:
    """Stored results and the vendor of each sample (one query per chunk; every result carries
    its sample's vendor, 0035, so the samples are not read)."""
    t = _T.c
    out: dict[int, int] = {}
    vendor: dict[int, int | None] = {}
    ids = sorted(sample_ids)
    for i in range(0, len(ids), _CHUNK):
        for sid, vid, n in session.execute(
                sa.select(t.sample_id, sa.func.max(t.vendor_id), sa.func.count())
                .where(bulk.among(session, t.sample_id, ids[i:i + _CHUNK])).group_by(t.sample_id)):
            out[sid] = n
            vendor[sid] = vid
    return out, vendor


def apply(*, session: Session, added: Iterable[counting.Counted],
          removed: Iterable[counting.Counted] = ()) -> int:
    """Add (+1 each) and take out (−1 each) counting results; groups left at zero are deleted,
    as a fresh aggregation has no such row. Returns the market × week groups touched."""
    added, removed = list(added), list(removed)
    week: Counter = Counter()
    day: Counter = Counter()
    item: Counter = Counter()
    markets: set[int] = set()
    for sign, items in ((1, added), (-1, removed)):
        for c in items:
            week[(c.market_key, c.count_week, c.kind)] += sign
            day[(c.market_key, c.count_date, c.count_week, c.kind)] += sign
            item[(c.market_key, c.count_week, c.commodity_id, c.analyte_key, c.kind)] += sign
            markets.add(c.market_key)
    vendor_rows = vendor_rollups.fold(added, removed)
    if (not any(week.values()) and not any(day.values()) and not any(item.values())
            and not any(rows for _t, rows in vendor_rows)):
        return 0
    conn = session.connection()
    for table, rows in vendor_rows:
        _upsert_add(conn, table, rows)
    county = _counties(conn, markets)

    def fold(counter: Counter, nkey: int) -> dict[tuple, list[int]]:
        out: dict[tuple, list[int]] = {}
        for key, n in counter.items():
            out.setdefault(key[:nkey], [0, 0, 0])[key[nkey]] += n
        return {k: c for k, c in out.items() if any(c)}

    def row(names, key, c):
        return {**dict(zip(names, key, strict=True)), "passed": c[0], "failed": c[1],
                "invalid": c[2]}

    wk = fold(week, 2)
    _upsert_add(conn, W, [row(("market_key", "week_start"), k, c) for k, c in wk.items()])
    _upsert_add(conn, D, [row(("market_key", "local_date", "week_start"), k, c)
                          for k, c in fold(day, 3).items()])
    items: dict[tuple, list[int]] = {}
    for (mk, ws, com, an), c in fold(item, 4).items():
        acc = items.setdefault((county[mk], ws, com, an), [0, 0, 0])
        for i in range(3):
            acc[i] += c[i]
    items = {k: c for k, c in items.items() if any(c)}
    _upsert_add(conn, C, [row(("county", "week_start", "commodity_id", "analyte_key"), k, c)
                          for k, c in items.items()])
    province: dict[tuple, list[int]] = {}
    for (_cty, ws, com, an), c in items.items():
        acc = province.setdefault((ws, com, an), [0, 0, 0])
        for i in range(3):
            acc[i] += c[i]
    _upsert_add(conn, P, [row(("week_start", "commodity_id", "analyte_key"), k, c)
                          for k, c in province.items() if any(c)])
    if removed:   # groups a sample left may be empty now
        weeks = sorted({c.count_week for c in removed})
        for i in range(0, len(weeks), _CHUNK):
            for table in (W, D, C, P):
                conn.execute(table.delete().where(table.c.week_start.in_(weeks[i:i + _CHUNK]),
                                                  table.c.passed == 0, table.c.failed == 0,
                                                  table.c.invalid == 0))
        for stmt in vendor_rollups.stale(removed):
            conn.execute(stmt)
    return len(wk)


def _counties(conn: sa.Connection, market_keys: set[int]) -> dict[int, str]:
    out = {0: ""}
    ids = sorted(k for k in market_keys if k)
    for i in range(0, len(ids), _CHUNK):
        out.update(conn.execute(sa.select(_M.c.id, _M.c.county)
                                .where(bulk.among(conn, _M.c.id, ids[i:i + _CHUNK]))).all())
    return out


# ------------------------------------------------------------------------------------ refresh

def refresh(*, session: Session, keys: set[RollupKey]) -> None:
    """Count again the samples with a result in ``keys`` ((market_id, week) pairs, by test week
    or count week) and recompute the rollup groups of their old and new count weeks (and of
    ``keys``) from the base table.

    Call it in the transaction that changed results, with the keys of the old and new values.
    """
    if not keys:
        return
    samples = counting.samples_of(session=session, keys=keys)
    removed, added = counting.recount(session=session, sample_ids=samples)
    keys = set(keys) | {(c.market_key, c.count_week) for c in (*removed, *added)}
    conn = session.connection()
    vendor_rollups.refresh(conn, (*removed, *added))
    norm = sorted({(mk or 0, ws) for mk, ws in keys})
    county = _counties(conn, {mk for mk, _ in norm})
    t = _T.c
    mkey = sa.func.coalesce(t.market_id, _ZERO)
    for i in range(0, len(norm), _CHUNK):
        chunk = norm[i:i + _CHUNK]
        base_cond = sa.tuple_(mkey, t.count_week).in_(chunk)
        counted = _counted()
        conn.execute(W.delete().where(sa.tuple_(W.c.market_key, W.c.week_start).in_(chunk)))
        conn.execute(W.insert().from_select(
            ["market_key", "week_start", "passed", "failed", "invalid"],
            sa.select(mkey, t.count_week, *_counts()).where(base_cond, counted)
            .group_by(mkey, t.count_week)))
        conn.execute(D.delete().where(sa.tuple_(D.c.market_key, D.c.week_start).in_(chunk)))
        conn.execute(D.insert().from_select(
            ["market_key", "local_date", "week_start", "passed", "failed", "invalid"],
            sa.select(mkey, t.count_date, sa.func.min(t.count_week), *_counts())
            .where(base_cond, counted).group_by(mkey, t.count_date)))
    cw = sorted({(county[mk], ws) for mk, ws in norm})
    for i in range(0, len(cw), _CHUNK):
        _refresh_items(conn, cw[i:i + _CHUNK])
    weeks = sorted({ws for _mk, ws in norm})
    for i in range(0, len(weeks), _CHUNK):  # province rows = sums of the county rows
        chunk = weeks[i:i + _CHUNK]
        c = C.c
        conn.execute(P.delete().where(P.c.week_start.in_(chunk)))
        conn.execute(P.insert().from_select(
            ["week_start", "commodity_id", "analyte_key", "passed", "failed", "invalid"],
            sa.select(c.week_start, c.commodity_id, c.analyte_key, sa.func.sum(c.passed),
                      sa.func.sum(c.failed), sa.func.sum(c.invalid))
            .where(c.week_start.in_(chunk))
            .group_by(c.week_start, c.commodity_id, c.analyte_key)))


def _refresh_items(conn: sa.Connection, county_weeks: list[tuple[str, date]]) -> None:
    t = _T.c
    cty = sa.func.coalesce(_M.c.county, _EMPTY)
    conn.execute(C.delete().where(sa.tuple_(C.c.county, C.c.week_start).in_(county_weeks)))
    conn.execute(C.insert().from_select(
        ["county", "week_start", "commodity_id", "analyte_key", "passed", "failed", "invalid"],
        sa.select(cty, t.count_week, t.commodity_id, sa.func.coalesce(t.analyte_id, _ZERO),
                  *_counts())
        .select_from(_T.outerjoin(_M, _M.c.id == t.market_id))
        .where(sa.tuple_(cty, t.count_week).in_(county_weeks), _counted())
        .group_by(cty, t.count_week, t.commodity_id, sa.func.coalesce(t.analyte_id, _ZERO))))


def keys_of(results: Iterable[TestResult]) -> set[RollupKey]:
    """The keys of some results for ``refresh`` (take them before AND after a change)."""
    return ({(r.market_id, r.week_start) for r in results}
            | {(r.market_id, r.count_week) for r in results if r.count_week is not None})


# ------------------------------------------------------------------------- rebuild and check

def fresh_queries() -> dict[str, sa.Select]:
    """The rollups computed from scratch from the base table (what the tables must equal)."""
    t = _T.c
    mkey = sa.func.coalesce(t.market_id, _ZERO)
    counted = _counted()
    cty = sa.func.coalesce(_M.c.county, _EMPTY)
    akey = sa.func.coalesce(t.analyte_id, _ZERO)
    return {
        "rollup_market_week": sa.select(mkey, t.count_week, *_counts()).where(counted)
        .group_by(mkey, t.count_week),
        "rollup_market_day": sa.select(mkey, t.count_date, sa.func.min(t.count_week), *_counts())
        .where(counted).group_by(mkey, t.count_date),
        "rollup_county_item_week": sa.select(cty, t.count_week, t.commodity_id, akey, *_counts())
        .select_from(_T.outerjoin(_M, _M.c.id == t.market_id)).where(counted)
        .group_by(cty, t.count_week, t.commodity_id, akey),
        "rollup_item_week": sa.select(t.count_week, t.commodity_id, akey, *_counts())
        .where(counted).group_by(t.count_week, t.commodity_id, akey),
        **vendor_rollups.fresh_queries(),
    }


_TABLES = {"rollup_market_week": W, "rollup_market_day": D, "rollup_county_item_week": C,
           "rollup_item_week": P, **vendor_rollups.TABLES}

#: the columns of each fresh query (1-based), its period first (``in_time_order``)
_TIME_FIRST = {"rollup_market_week": (2, 1), "rollup_market_day": (2, 1),
               "rollup_county_item_week": (2, 1, 3, 4), "rollup_item_week": (1, 2, 3),
               "rollup_vendor_week": (1, 2), "rollup_vendor_month": (1, 2)}


def in_time_order(name: str, q: sa.Select) -> sa.Select:
    """The fresh query ``q`` of rollup ``name`` ordered by its period first, for a rebuild to
    write the rows as the intake creates them: a period's rows side by side. PostgreSQL keeps
    rows where they were inserted; in the order of its GROUP BY, the 40 000 vendor rows of one
    month lay on 9 000 of the table's 10 000 pages (10 M results), and a batch's upsert of the
    current month read and wrote most of them. (SQLite stores the rollups by their key.)"""
    return q.order_by(*(sa.literal_column(str(i)) for i in _TIME_FIRST[name]))


def rebuild(*, session: Session, recount: bool = True) -> dict[str, int]:
    """Set every result's ``counts`` flags by the rule (unless the caller wrote them exactly:
    ``recount=False``), then recompute every rollup from the base table, all in the caller's
    one transaction (a generator that owns the database). On a database in use, use
    ``lims.intake.rollup_rebuild.rebuild_in_slices`` (bounded transactions; `lims rollups
    rebuild`). Returns the row count of each table."""
    if recount:
        counting.recount_all(session=session)
    conn = session.connection()
    out = {}
    for name, q in fresh_queries().items():
        table = _TABLES[name]
        conn.execute(table.delete())
        conn.execute(table.insert().from_select([c.name for c in table.columns],
                                                in_time_order(name, q)))
        out[name] = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    return out


def _norm(row) -> tuple:
    return tuple(date.fromisoformat(v) if isinstance(v, str) and len(v) == 10 and v[4] == "-"
                 else v for v in row)


def check(*, session: Session) -> list[str]:
    """Every result whose ``counts`` flags break the rule and every rollup row that differs
    from a fresh aggregation (empty when exact)."""
    conn = session.connection()
    problems: list[str] = counting.differences(session=session)
    for name, q in fresh_queries().items():
        table = _TABLES[name]
        stored = {_norm(r) for r in conn.execute(sa.select(*table.columns)).all()}
        fresh = {_norm(r) for r in conn.execute(q).all()}
        for r in sorted(stored - fresh, key=str):
            problems.append(f"{name}: stored row {r} is not in a fresh aggregation")
        for r in sorted(fresh - stored, key=str):
            problems.append(f"{name}: fresh row {r} is missing or different")
    return problems
