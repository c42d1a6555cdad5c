"""Per-vendor rollups (issue 17): counts of the samples bound to a vendor (stall), per vendor ×
ISO week (``rollup_vendor_week``, by the counting result's ``count_week``) and per vendor ×
calendar month (``rollup_vendor_month``, by the first day of its ``count_date``'s month).

Sampling coverage (``lims.reporting.coverage``) and the grade-weighted pass rates
(``lims.reporting.weighting``) read them instead of joining every counted result of the period
to its sample. Samples without a vendor (residents' purchases, market-level samples) are not in
them. The vendor is the sample's (``Sample.vendor_id``, never changed once stored).

They are kept exact by ``lims.intake.rollups`` with the market rollups, in the same
transaction: ``apply`` adds the differences (``fold``) and deletes the groups left at zero
(``stale``); ``refresh`` recomputes the groups of the vendors whose samples were counted again
from the base table; ``fresh_queries`` is what ``check`` and ``rebuild`` compare and write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from lims.intake.counting import Counted
from lims.models import Sample, TestResult
from lims.models.rollups import RollupVendorMonth, RollupVendorWeek
from lims.verdicts import Outcome

VW = RollupVendorWeek.__table__
VM = RollupVendorMonth.__table__
TABLES = {"rollup_vendor_week": VW, "rollup_vendor_month": VM}
_T = TestResult.__table__
_S = Sample.__table__
_CHUNK = 400


class month_start(FunctionElement):  # noqa: N801 (an SQL function)
    """The first day of a date's month, as a DATE (SQLite and PostgreSQL). No bound
    parameters: PostgreSQL matches GROUP BY expressions textually."""

    type = sa.Date()
    name = "month_start"
    inherit_cache = True


@compiles(month_start)
def _month_start_pg(element, compiler, **kw):
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


def month_of(d: date) -> date:
    return d.replace(day=1)


def next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


def _counts(t=_T.c):
    def n(passes):
        values = tuple(o.value for o in Outcome if o.passes is passes)
        return sa.func.coalesce(sa.func.sum(sa.case((t.verdict.in_(values), 1), else_=0)), 0)
    return [n(True).label("passed"), n(False).label("failed"), n(None).label("invalid")]


# ------------------------------------------------------------------------ incremental (apply)

def fold(added: Iterable[Counted], removed: Iterable[Counted]) -> list[tuple[sa.Table, list]]:
    """The rows to add to each vendor table (+1 per added, −1 per removed contribution);
    groups whose difference is zero are left out."""
    week: Counter = Counter()
    month: Counter = Counter()
    for sign, items in ((1, added), (-1, removed)):
        for c in items:
            if c.vendor_key:
                week[(c.count_week, c.vendor_key, c.kind)] += sign
                month[(month_of(c.count_date), c.vendor_key, c.kind)] += sign
    out = []
    for table, counter in ((VW, week), (VM, month)):
        acc: dict[tuple, list[int]] = {}
        for (when, vid, kind), n in counter.items():
            acc.setdefault((when, vid), [0, 0, 0])[kind] += n
        names = [c.name for c in table.primary_key.columns]
        out.append((table, [{names[0]: k[0], names[1]: k[1], "passed": c[0], "failed": c[1],
                             "invalid": c[2]} for k, c in acc.items() if any(c)]))
    return out


def stale(removed: list[Counted]) -> list[sa.Delete]:
    """Deletions of the groups left at zero in the weeks and months ``removed`` left."""
    weeks = sorted({c.count_week for c in removed if c.vendor_key})
    months = sorted({month_of(c.count_date) for c in removed if c.vendor_key})
    out = []
    for table, col, keys in ((VW, VW.c.week_start, weeks), (VM, VM.c.month_start, months)):
        for i in range(0, len(keys), _CHUNK):
            out.append(table.delete().where(col.in_(keys[i:i + _CHUNK]), table.c.passed == 0,
                                            table.c.failed == 0, table.c.invalid == 0))
    return out


# ---------------------------------------------------------------------------------- refresh

def refresh(conn: sa.Connection, changed: Iterable[Counted]) -> None:
    """Recompute from the base table the groups of the vendors of ``changed`` (the old and new
    contributions of the samples just counted again) in their weeks and months.

    A vendor group changes only when one of its samples' contributions does, and a sample's
    old and new contributions are both among ``changed``: recomputing the vendors × weeks and
    vendors × months they name is exact (a little more than needed, never less)."""
    changed = [c for c in changed if c.vendor_key]
    if not changed:
        return
    vendors = sorted({c.vendor_key for c in changed})
    weeks = sorted({c.count_week for c in changed})
    months = sorted({month_of(c.count_date) for c in changed})
    t, s = _T.c, _S.c
    base = _T.join(_S, s.id == t.sample_id)
    counted = t.counts == sa.true()
    ms = month_start(t.count_date)
    for i in range(0, len(vendors), _CHUNK):
        vs = vendors[i:i + _CHUNK]
        conn.execute(VW.delete().where(VW.c.vendor_id.in_(vs), VW.c.week_start.in_(weeks)))
        conn.execute(VW.insert().from_select(
            [c.name for c in VW.columns],
            sa.select(t.count_week, s.vendor_id, *_counts()).select_from(base)
            .where(counted, s.vendor_id.in_(vs), t.count_week.in_(weeks))
            .group_by(t.count_week, s.vendor_id)))
        conn.execute(VM.delete().where(VM.c.vendor_id.in_(vs), VM.c.month_start.in_(months)))
        conn.execute(VM.insert().from_select(
            [c.name for c in VM.columns],
            sa.select(ms, s.vendor_id, *_counts()).select_from(base)
            .where(counted, s.vendor_id.in_(vs), t.count_date >= months[0],
                   t.count_date < next_month(months[-1]), ms.in_(months))
            .group_by(ms, s.vendor_id)))


# ------------------------------------------------------------------------- rebuild and check

def fresh_queries() -> dict[str, sa.Select]:
    """The vendor rollups computed from scratch (columns in table order)."""
    t, s = _T.c, _S.c
    base = _T.join(_S, s.id == t.sample_id)
    conds = (t.counts == sa.true(), s.vendor_id.is_not(None))
    ms = month_start(t.count_date)
    return {
        "rollup_vendor_week": sa.select(t.count_week, s.vendor_id, *_counts())
        .select_from(base).where(*conds).group_by(t.count_week, s.vendor_id),
        "rollup_vendor_month": sa.select(ms, s.vendor_id, *_counts())
        .select_from(base).where(*conds).group_by(ms, s.vendor_id),
    }
