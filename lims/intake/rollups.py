"""Pre-aggregated pass-rate rollups, kept exact (issue 8; design in docs/performance.md).

Four tables (lims/models/rollups.py) hold passed/failed/invalid counts of the results that count
(status recorded or accepted): per market × week, per market × day, per county × week ×
commodity × analyte, and per week × commodity × analyte for the whole province. They change in the same transaction as the results:

* ``add_results`` — new results (the ingest service): counts are added with an atomic upsert
  (``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``), so concurrent ingests stay exact;
* ``refresh(keys=…)`` — any other change to a stored result's verdict, status, market, commodity
  or date (corrections, accept/void, deletes): the groups of the touched (market_id, week_start)
  keys are recomputed from the base table. Callers pass the keys of the old AND the new values;
* ``rebuild`` recomputes everything, ``check`` lists every group that differs from a fresh
  aggregation (``lims rollups check``). A market moved to another county needs ``rebuild``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

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


def _kind(verdict: str) -> int:
    return 0 if verdict in PASS_OUTCOMES else 1 if verdict in FAIL_OUTCOMES else 2


# ------------------------------------------------------------------------------------ upserts

def _insert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


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
    ins = _insert(conn.dialect.name)(table)
    stmt = ins.on_conflict_do_update(index_elements=pk, set_={
        name: table.c[name] + ins.excluded[name] for name in ("passed", "failed", "invalid")})
    conn.execute(stmt, rows)


def add_results(*, session: Session, results: Iterable[dict]) -> int:
    """Count newly stored results into the rollups (same transaction). Returns groups touched.

    Each item has market_id, week_start, local_date, commodity_id, analyte_id, verdict, status.
    """
    week: Counter = Counter()
    day: Counter = Counter()
    item: Counter = Counter()
    markets: set[int] = set()
    for r in results:
        if r["status"] not in COUNTED_STATUSES:
            continue
        mk = r["market_id"] or 0
        k = _kind(r["verdict"])
        week[(mk, r["week_start"], k)] += 1
        day[(mk, r["local_date"], r["week_start"], k)] += 1
        item[(mk, r["week_start"], r["commodity_id"], r["analyte_id"] or 0, k)] += 1
        markets.add(mk)
    if not week:
        return 0
    conn = session.connection()
    county = _counties(conn, markets)

    def fold(counter: Counter, nkey: int) -> dict[tuple, list[int]]:
        out: dict[tuple, list[int]] = {}
        for key, n in counter.items():
            out.setdefault(key[:nkey], [0, 0, 0])[key[nkey]] += n
        return out

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
    _upsert_add(conn, C, [row(("county", "week_start", "commodity_id", "analyte_key"), k, c)
                          for k, c in items.items()])
    province: dict[tuple, list[int]] = {}
    for (_cty, ws, com, an), c in items.items():
        acc = province.setdefault((ws, com, an), [0, 0, 0])
        for i in range(3):
            acc[i] += c[i]
    _upsert_add(conn, P, [row(("week_start", "commodity_id", "analyte_key"), k, c)
                          for k, c in province.items()])
    return len(wk)


def _counties(conn: sa.Connection, market_keys: set[int]) -> dict[int, str]:
    out = {0: ""}
    ids = sorted(k for k in market_keys if k)
    for i in range(0, len(ids), _CHUNK):
        out.update(conn.execute(sa.select(_M.c.id, _M.c.county)
                                .where(_M.c.id.in_(ids[i:i + _CHUNK]))).all())
    return out


# ------------------------------------------------------------------------------------ refresh

def refresh(*, session: Session, keys: set[RollupKey]) -> None:
    """Recompute the rollup groups of ``keys`` ((market_id, week_start) pairs) from the base table.

    Call it in the transaction that changed results, with the keys of the old and new values.
    """
    if not keys:
        return
    conn = session.connection()
    norm = sorted({(mk or 0, ws) for mk, ws in keys})
    county = _counties(conn, {mk for mk, _ in norm})
    t = _T.c
    mkey = sa.func.coalesce(t.market_id, _ZERO)
    for i in range(0, len(norm), _CHUNK):
        chunk = norm[i:i + _CHUNK]
        base_cond = sa.tuple_(mkey, t.week_start).in_(chunk)
        counted = t.status.in_(COUNTED_STATUSES)
        conn.execute(W.delete().where(sa.tuple_(W.c.market_key, W.c.week_start).in_(chunk)))
        conn.execute(W.insert().from_select(
            ["market_key", "week_start", "passed", "failed", "invalid"],
            sa.select(mkey, t.week_start, *_counts()).where(base_cond, counted)
            .group_by(mkey, t.week_start)))
        conn.execute(D.delete().where(sa.tuple_(D.c.market_key, D.c.week_start).in_(chunk)))
        conn.execute(D.insert().from_select(
            ["market_key", "local_date", "week_start", "passed", "failed", "invalid"],
            sa.select(mkey, t.local_date, sa.func.min(t.week_start), *_counts())
            .where(base_cond, counted).group_by(mkey, t.local_date)))
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
        sa.select(cty, t.week_start, t.commodity_id, sa.func.coalesce(t.analyte_id, _ZERO),
                  *_counts())
        .select_from(_T.outerjoin(_M, _M.c.id == t.market_id))
        .where(sa.tuple_(cty, t.week_start).in_(county_weeks), t.status.in_(COUNTED_STATUSES))
        .group_by(cty, t.week_start, t.commodity_id, sa.func.coalesce(t.analyte_id, _ZERO))))


def keys_of(results: Iterable[TestResult]) -> set[RollupKey]:
    """The rollup keys of some results (take them before AND after a change)."""
    return {(r.market_id, r.week_start) for r in results}


# ------------------------------------------------------------------------- rebuild and check

def fresh_queries() -> dict[str, sa.Select]:
    """The rollups computed from scratch from the base table (what the tables must equal)."""
    t = _T.c
    mkey = sa.func.coalesce(t.market_id, _ZERO)
    counted = t.status.in_(COUNTED_STATUSES)
    cty = sa.func.coalesce(_M.c.county, _EMPTY)
    akey = sa.func.coalesce(t.analyte_id, _ZERO)
    return {
        "rollup_market_week": sa.select(mkey, t.week_start, *_counts()).where(counted)
        .group_by(mkey, t.week_start),
        "rollup_market_day": sa.select(mkey, t.local_date, sa.func.min(t.week_start), *_counts())
        .where(counted).group_by(mkey, t.local_date),
        "rollup_county_item_week": sa.select(cty, t.week_start, t.commodity_id, akey, *_counts())
        .select_from(_T.outerjoin(_M, _M.c.id == t.market_id)).where(counted)
        .group_by(cty, t.week_start, t.commodity_id, akey),
        "rollup_item_week": sa.select(t.week_start, t.commodity_id, akey, *_counts())
        .where(counted).group_by(t.week_start, t.commodity_id, akey),
    }


_TABLES = {"rollup_market_week": W, "rollup_market_day": D, "rollup_county_item_week": C,
           "rollup_item_week": P}


def rebuild(*, session: Session) -> dict[str, int]:
    """Recompute every rollup from the base table. Returns the row count of each table."""
    conn = session.connection()
    out = {}
    for name, q in fresh_queries().items():
        table = _TABLES[name]
        conn.execute(table.delete())
        conn.execute(table.insert().from_select([c.name for c in table.columns], q))
        out[name] = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    return out


def _norm(row) -> tuple:
    return tuple(date.fromisoformat(v) if isinstance(v, str) and len(v) == 10 and v[4] == "-"
                 else v for v in row)


def check(*, session: Session) -> list[str]:
    """Every rollup row that differs from a fresh aggregation (empty when exact)."""
    conn = session.connection()
    problems: list[str] = []
    for name, q in fresh_queries().items():
        table = _TABLES[name]
        stored = {_norm(r) for r in conn.execute(sa.select(*table.columns)).all()}
        fresh = {_norm(r) for r in conn.execute(q).all()}
        for r in sorted(stored - fresh, key=str):
            problems.append(f"{name}: stored row {r} is not in a fresh aggregation")
        for r in sorted(fresh - stored, key=str):
            problems.append(f"{name}: fresh row {r} is missing or different")
    return problems
