"""The vendor list of the grades page, read page by page from SQL (issue 17).

At province scale there are 40 000 vendors: the page reads one page of them (LIMIT/OFFSET over
grade D first, then market and stall), counts this month's rapid tests for that page's vendors
only, and the whole list is written to CSV in chunks (keyset on the vendor id) when someone
downloads it. Grade counts and how grades moved stay in ``lims.reporting.reports``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from lims.enforcement.rules import GradeRules, load_grade_rules
from lims.errors import InvalidInput
from lims.models import Market, Method, Sample, TestResult, Vendor
from lims.timeutil import local_tz, now, week_start

_V = Vendor.__table__
_M = Market.__table__
MAX_PAGE = 500
CHUNK = 2000


@dataclass(frozen=True)
class VendorQuery:
    county: str | None = None
    market_ids: tuple[int, ...] = ()
    search: str = ""                 # part of the stall, the vendor's or the market's name
    grades: tuple[str, ...] = ()     # none: every grade


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conds(q: VendorQuery) -> list:
    v, m = _V.c, _M.c
    conds = []
    if q.market_ids:
        conds.append(v.market_id.in_(q.market_ids))
    if q.county:
        conds.append(m.county == q.county)
    if q.grades:
        conds.append(v.credit_grade.in_(q.grades))
    text = q.search.strip()
    if text:
        pat = f"%{_escape_like(text)}%"
        conds.append(sa.or_(*(c.ilike(pat, escape="\\") for c in (v.stall, v.name, m.name))))
    return conds


def _base(q: VendorQuery):
    v, m = _V.c, _M.c
    return (sa.select(v.id, m.name.label("market"), v.stall, v.name, v.credit_grade, v.market_id)
            .select_from(_V.join(_M, v.market_id == m.id)).where(*_conds(q)))


def count(*, session: Session, query: VendorQuery) -> int:
    """How many vendors the query matches."""
    return int(session.connection().execute(
        sa.select(sa.func.count()).select_from(_V.join(_M, _V.c.market_id == _M.c.id))
        .where(*_conds(query))).scalar() or 0)


def _month(on: date | None) -> tuple[date, date]:
    on = on or now().astimezone(local_tz()).date()
    return on.replace(day=1), on


def _tested(conn, vendors: dict[int, int] | None, first: date, on: date, rapid: list[int]
            ) -> dict:
    """Samples with a rapid test this month per vendor (as ``grades.sampling_plan`` counts),
    for ``vendors`` (id → market id) or every vendor (``None``). Read through the month's
    results of the vendors' markets (index (market_id, week_start), or (week_start, market_id)
    for all): a vendor's samples are taken at its own market (readings name the vendor by its
    stall at the sample's market), so a page costs a few markets × five weeks of results."""
    if vendors == {} or not rapid:
        return {}
    t, s = TestResult.__table__.c, Sample.__table__.c
    conds = [t.week_start >= week_start(first), t.week_start <= on, t.local_date >= first,
             t.local_date <= on, t.method_id.in_(rapid)]
    if vendors is None:
        conds.append(s.vendor_id.is_not(None))
    else:
        conds += [t.market_id.in_(sorted(set(vendors.values()))),
                  s.vendor_id.in_(list(vendors))]
    rows = conn.execute(
        sa.select(s.vendor_id, sa.func.count(sa.distinct(s.id)))
        .join(Sample.__table__, s.id == t.sample_id).where(*conds).group_by(s.vendor_id))
    return {vid: int(n) for vid, n in rows}


def _rows(conn, rows, first, on, rapid, rules: GradeRules, tested: dict | None = None
          ) -> list[dict]:
    if tested is None:
        tested = _tested(conn, {r[0]: r[-1] for r in rows}, first, on, rapid)
    out = []
    for vid, market, stall, name, grade, _market_id in rows:
        per = rules.per_month.get(grade, rules.per_month[rules.default])
        n = tested.get(vid, 0)
        out.append({"vendor_id": vid, "market": market, "stall": stall, "name": name,
                    "grade": grade, "per_month": per, "tested_this_month": n,
                    "due": max(0, per - n)})
    return out


def _rapid(conn) -> list[int]:
    me = Method.__table__.c
    return [i for (i,) in conn.execute(sa.select(me.id).where(me.is_rapid))]


def page(*, session: Session, query: VendorQuery, offset: int = 0, limit: int = 50,
         on: date | None = None, rules: GradeRules | None = None) -> list[dict]:
    """One page of vendors (D first, then market, stall), with this month's sampling plan:
    samples per month by grade, tested this month, still due."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"page size must be 1–{MAX_PAGE}, not {limit}")
    if offset < 0:
        raise InvalidInput("offset must not be negative")
    rules = rules or load_grade_rules()
    first, on = _month(on)
    conn = session.connection()
    v, m = _V.c, _M.c
    rows = conn.execute(_base(query).order_by(v.credit_grade.desc(), m.name, v.stall, v.id)
                        .limit(limit).offset(offset)).all()
    return _rows(conn, rows, first, on, _rapid(conn), rules)


def iter_all(*, session: Session, query: VendorQuery, on: date | None = None,
             rules: GradeRules | None = None, chunk: int = CHUNK) -> Iterator[dict]:
    """Every matching vendor, ``chunk`` at a time in id order (for the CSV download)."""
    rules = rules or load_grade_rules()
    first, on = _month(on)
    conn = session.connection()
    rapid = _rapid(conn)
    tested = _tested(conn, None, first, on, rapid)   # the month's results, once
    last = 0
    while True:
        rows = conn.execute(_base(query).where(_V.c.id > last).order_by(_V.c.id)
                            .limit(chunk)).all()
        if not rows:
            return
        yield from _rows(conn, rows, first, on, rapid, rules, tested)
        last = rows[-1][0]


def grade_changes(matrix: dict[tuple[str, str], int]) -> dict[str, int]:
    """Net change of each grade's vendor count from a previous → new move matrix."""
    out: dict[str, int] = {}
    for (prev, new), n in matrix.items():
        if prev == new:
            continue
        out[new] = out.get(new, 0) + n
        out[prev] = out.get(prev, 0) - n
    return out
