"""Which result carries a sample's verdict in pass rates: samples count, not readings (issue 16).

A sample counts once, with its final verdict. Of its results whose status counts (recorded or
accepted — held and voided ones never do), the first by this rank carries it:

1. a confirmatory (lab, non-rapid) result before any rapid screen or re-test, whatever the times
   (a lab result overrules the screen);
2. then the latest tested (the last re-test is the sample's verdict);
3. then the highest id.

That result has ``counts`` true, every other result of the sample false. It counts under the
sample's day: ``count_date`` is the local day of the sample's first result (of any status; the
intake pipeline sets ``Sample.taken_at`` to its first reading's time, so this is the day it was
taken) and ``count_week`` the ISO week of that day — a re-test or lab result days later still
counts in the week the sample was taken. Both are NULL where ``counts`` is false.

The flags change in the same transaction as the results (``lims.intake.rollups`` calls
``recount``); ``fresh_counts`` is the rule in SQL, for ``rollups.check`` and ``recount_all``
(the migration ``0015_sample_counts`` fills stored results with the same rule).
A reading that found no sample (``UnboundReading``) is no result and never counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from lims.models import Method, Sample, TestResult
from lims.models.enums import ResultStatus
from lims.storage.bulk import among
from lims.verdicts import Outcome

COUNTED_STATUSES = (ResultStatus.RECORDED.value, ResultStatus.ACCEPTED.value)
_T = TestResult.__table__
_ME = Method.__table__
_S = Sample.__table__
_CHUNK = 400


def _kind(o: Outcome) -> int:
    return 0 if o.passes is True else 1 if o.passes is False else 2


_KINDS = {o.value: _kind(o) for o in Outcome}


def kind_of(verdict: str) -> int:
    """0 pass, 1 fail, 2 invalid (the rollups' three counts)."""
    kind = _KINDS.get(verdict)
    return kind if kind is not None else _kind(Outcome(verdict))


@dataclass(frozen=True)
class Counted:
    """What one counting result adds to the rollups."""

    market_key: int
    count_date: date
    count_week: date
    commodity_id: int
    analyte_key: int
    kind: int
    vendor_key: int = 0     # the sample's vendor (stall), 0 when it has none


def counted_of(row, vendor_id: int | None = None) -> Counted:
    """The contribution of a counting result (a mapping or row with the columns; the sample's
    vendor from ``vendor_id`` or the row's ``vendor_id``, when it has one)."""
    if vendor_id is None:
        vendor_id = row.get("vendor_id")
    return Counted(row["market_id"] or 0, _d(row["count_date"]), _d(row["count_week"]),
                   row["commodity_id"], row["analyte_id"] or 0, kind_of(row["verdict"]),
                   vendor_id or 0)


def _d(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _rank(r) -> tuple:
    return (not r["is_rapid"], r["tested_at"], r["id"])


def provisional(row: dict) -> None:
    """Flags for a new result row before it is inserted, as if it were its sample's only result
    (``recount`` corrects the samples that have others)."""
    own = row.get("status", ResultStatus.RECORDED.value) in COUNTED_STATUSES
    row["counts"] = own
    row["count_date"] = row["local_date"] if own else None
    row["count_week"] = row["week_start"] if own else None


def recount(*, session: Session, sample_ids: Iterable[int], new_keys: frozenset[str] = frozenset(),
            ) -> tuple[list[Counted], list[Counted]]:
    """Set the flags of every result of ``sample_ids`` by the rule (module docstring).

    Returns (removed, added): the contributions to take out of the rollups — of results that
    counted before, except new results (``ingest_key`` in ``new_keys``, not in the rollups yet) —
    and to put in.
    """
    ids = sorted(set(sample_ids))
    conn = session.connection()
    t = _T.c
    removed: list[Counted] = []
    added: list[Counted] = []
    updates: list[dict] = []
    for i in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            sa.select(t.id, t.sample_id, t.status, t.tested_at, t.local_date, t.week_start,
                      t.counts, t.count_date, t.count_week, t.market_id, t.commodity_id,
                      t.analyte_id, t.verdict, t.ingest_key, _ME.c.is_rapid, _S.c.vendor_id)
            .join(_ME, _ME.c.id == t.method_id).join(_S, _S.c.id == t.sample_id)
            .where(among(conn, t.sample_id, ids[i:i + _CHUNK]))
        ).mappings().all()
        by_sample: dict[int, list] = {}
        for r in rows:
            by_sample.setdefault(r["sample_id"], []).append(r)
        for results in by_sample.values():
            day = min(_d(r["local_date"]) for r in results)
            week = min(_d(r["week_start"]) for r in results)
            candidates = [r for r in results if r["status"] in COUNTED_STATUSES]
            final = max(candidates, key=_rank)["id"] if candidates else None
            for r in results:
                if r["counts"] and r["ingest_key"] not in new_keys:
                    removed.append(counted_of(r))
                want = (r["id"] == final, day if r["id"] == final else None,
                        week if r["id"] == final else None)
                if want[0]:
                    added.append(counted_of({**r, "count_date": day, "count_week": week}))
                have = (bool(r["counts"]), r["count_date"] and _d(r["count_date"]),
                        r["count_week"] and _d(r["count_week"]))
                if have != want:
                    updates.append({"_id": r["id"], "_c": want[0], "_d": want[1],
                                    "_w": want[2]})
    if updates:
        conn.execute(_T.update().where(t.id == sa.bindparam("_id")).values(
            counts=sa.bindparam("_c"), count_date=sa.bindparam("_d"),
            count_week=sa.bindparam("_w")), updates)
    return removed, added


def samples_of(*, session: Session, keys: Iterable[tuple[int | None, date]]) -> set[int]:
    """Samples with a result in one of the (market_id, week) ``keys`` — by test week or by
    count week (the keys callers of ``rollups.refresh`` pass)."""
    conn = session.connection()
    t = _T.c
    keys = sorted({(mk or 0, ws) for mk, ws in keys})
    out: set[int] = set()
    for week_col in (t.week_start, t.count_week):
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            with_market = [(mk, ws) for mk, ws in chunk if mk]
            without = sorted({ws for mk, ws in chunk if not mk})
            conds = []
            if with_market:
                conds.append(sa.tuple_(t.market_id, week_col).in_(with_market))
            if without:
                conds.append(sa.and_(t.market_id.is_(None), week_col.in_(without)))
            out.update(conn.execute(sa.select(t.sample_id).distinct()
                                    .where(sa.or_(*conds))).scalars())
    return out


def fresh_counts() -> sa.Select:
    """(id, counts, count_date, count_week) of every result by the rule, computed in SQL."""
    t2 = _T.alias("t2")
    t3 = _T.alias("t3")
    final = (sa.select(t2.c.id).join(_ME, _ME.c.id == t2.c.method_id)
             .where(t2.c.sample_id == _T.c.sample_id, t2.c.status.in_(COUNTED_STATUSES))
             .order_by(_ME.c.is_rapid.asc(), t2.c.tested_at.desc(), t2.c.id.desc())
             .limit(1).correlate(_T).scalar_subquery())
    is_final = _T.c.id == final

    def first(col: str):
        return (sa.select(sa.func.min(t3.c[col])).where(t3.c.sample_id == _T.c.sample_id)
                .correlate(_T).scalar_subquery())

    return sa.select(_T.c.id, sa.case((is_final, sa.true()), else_=sa.false()).label("counts"),
                     sa.case((is_final, first("local_date"))).label("count_date"),
                     sa.case((is_final, first("week_start"))).label("count_week"))


def recount_all(*, session: Session) -> int:
    """Set the flags of every stored result by the rule (one UPDATE). Returns rows changed."""
    f = fresh_counts().subquery()
    conn = session.connection()
    stale = conn.execute(
        sa.select(f.c.id, f.c.counts, f.c.count_date, f.c.count_week)
        .join(_T, _T.c.id == f.c.id)
        .where(sa.or_(_T.c.counts != f.c.counts,
                      sa.func.coalesce(_T.c.count_date, sa.literal(date(1, 1, 1)))
                      != sa.func.coalesce(f.c.count_date, sa.literal(date(1, 1, 1))),
                      sa.func.coalesce(_T.c.count_week, sa.literal(date(1, 1, 1)))
                      != sa.func.coalesce(f.c.count_week, sa.literal(date(1, 1, 1)))))).all()
    if stale:
        conn.execute(_T.update().where(_T.c.id == sa.bindparam("_id")).values(
            counts=sa.bindparam("_c"), count_date=sa.bindparam("_d"),
            count_week=sa.bindparam("_w")),
            [{"_id": r[0], "_c": bool(r[1]), "_d": _maybe_d(r[2]), "_w": _maybe_d(r[3])}
             for r in stale])
    return len(stale)


def _maybe_d(value) -> date | None:
    return None if value is None else _d(value)


def differences(*, session: Session, limit: int = 50) -> list[str]:
    """Results whose flags differ from the rule (empty when exact)."""
    f = fresh_counts().subquery()
    z = sa.literal(date(1, 1, 1))
    rows = session.connection().execute(
        sa.select(_T.c.id, _T.c.counts, f.c.counts).join(f, f.c.id == _T.c.id)
        .where(sa.or_(_T.c.counts != f.c.counts,
                      sa.func.coalesce(_T.c.count_date, z) != sa.func.coalesce(f.c.count_date, z),
                      sa.func.coalesce(_T.c.count_week, z) != sa.func.coalesce(f.c.count_week, z)))
        .order_by(_T.c.id).limit(limit)).all()
    return [f"test_result {i}: counts {bool(have)} (count date/week included) differs from the "
            f"rule ({bool(want)})" for i, have, want in rows]
