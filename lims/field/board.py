"""The public result board of a market (快检结果公示): today's and this week's results.

Read-only data for a screen at the market entrance: commodity, stall, verdict and, for a
positive, how it was handled. Voided and held results are not shown (held ones await review).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from lims.enforcement.rules import load_enforcement_rules
from lims.errors import NotFound
from lims.field.stand import VERDICT_LABELS, handling_lines
from lims.models import Commodity, EnforcementCase, Market, Method, Sample, TestResult, Vendor
from lims.reference.lookup import RefCache
from lims.reporting.stats import COUNTED_STATUSES
from lims.timeutil import local_tz, now, week_start


@dataclass(frozen=True)
class BoardRow:
    tested_at: datetime
    code: str
    commodity_zh: str
    commodity_en: str
    stall: str
    method_zh: str
    verdict: str
    verdict_zh: str
    handling: tuple[str, ...]


@dataclass
class Board:
    market_id: int
    market: str
    day: date
    week_start: date
    today: list[BoardRow] = field(default_factory=list)
    week: list[BoardRow] = field(default_factory=list)

    def counts(self, rows: list[BoardRow]) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in rows:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out


def market_board(*, session: Session, market: str | int, on: date | None = None,
                 tz: ZoneInfo | None = None) -> Board:
    """Board of ``market`` (id, code or name) for the day ``on`` (today) and its ISO week."""
    tz = tz or local_tz()
    if isinstance(market, int):
        m = session.get(Market, market)
        if m is None:
            raise NotFound(f"no market with id {market}")
    else:
        m = RefCache.load(session).market(market)
    day = on or now().astimezone(tz).date()
    monday = week_start(day)
    rules = load_enforcement_rules()
    results = session.exec(
        select(TestResult).where(TestResult.market_id == m.id, TestResult.retest_of_id.is_(None),
                                 TestResult.status.in_(COUNTED_STATUSES),
                                 TestResult.local_date >= monday,
                                 TestResult.local_date <= monday + timedelta(days=6))
        .order_by(TestResult.tested_at.desc(), TestResult.id.desc())).all()
    board = Board(m.id, m.name, day, monday)
    if not results:
        return board
    samples = {s.id: s for s in session.exec(
        select(Sample).where(Sample.id.in_({r.sample_id for r in results})))}
    vendors = {v.id: v for v in session.exec(select(Vendor).where(Vendor.market_id == m.id))}
    commodities = {c.id: c for c in session.exec(select(Commodity))}
    methods = {x.id: x for x in session.exec(select(Method))}
    cases = {c.result_id: c for c in session.exec(
        select(EnforcementCase).where(EnforcementCase.result_id.in_([r.id for r in results])))}
    for r in results:
        s = samples[r.sample_id]
        c = commodities[r.commodity_id]
        v = vendors.get(s.vendor_id) if s.vendor_id else None
        case = cases.get(r.id)
        row = BoardRow(r.tested_at, s.code, c.name_zh, c.name_en,
                       v.stall if v else "居民自购", methods[r.method_id].name_zh, r.verdict,
                       VERDICT_LABELS.get(r.verdict, (r.verdict, ""))[0],
                       tuple(handling_lines(case, rules.disposals, tz)) if case else ())
        board.week.append(row)
        if r.local_date == day:
            board.today.append(row)
    return board
