"""The public result board of a market (快检结果公示): today's and this week's results.

Read-only data for a screen at the market entrance: commodity, stall, verdict and, for a
positive, how it was handled. Voided and held results are not shown (held ones await review).
Also the public page of one stall (一户一码, ``/stall?market=M&stall=S``): its grade and its
recent results, and the state the public result page may show a sample in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.enforcement.grades import decide_grade, grade_history
from lims.enforcement.rules import load_enforcement_rules, load_grade_rules
from lims.errors import NotFound
from lims.field.stand import VERDICT_LABELS, handling_lines
from lims.models import Commodity, EnforcementCase, Market, Method, Sample, TestResult, Vendor
from lims.models.enums import ResultStatus
from lims.reference.lookup import RefCache
from lims.reporting.stats import COUNTED_STATUSES
from lims.settings import load_settings
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
    # one row per sample, with its final verdict, on the day it was taken (issue 16: the
    # counting result of lims.intake.counting — the board's counts agree with the pass rates)
    results = session.exec(
        select(TestResult).where(TestResult.market_id == m.id, TestResult.counts == sa.true(),
                                 TestResult.status.in_(COUNTED_STATUSES),
                                 TestResult.count_date >= monday,
                                 TestResult.count_date <= monday + timedelta(days=6))
        .order_by(TestResult.tested_at.desc(), TestResult.id.desc())).all()
    board = Board(m.id, m.name, day, monday)
    if not results:
        return board
    samples = {s.id: s for s in session.exec(
        select(Sample).where(Sample.id.in_({r.sample_id for r in results})))}
    vendors = {v.id: v for v in session.exec(select(Vendor).where(Vendor.market_id == m.id))}
    commodities = {c.id: c for c in session.exec(select(Commodity))}
    methods = {x.id: x for x in session.exec(select(Method))}
    ids = {r.id for r in results} | {r.retest_of_id for r in results if r.retest_of_id}
    cases = {c.result_id: c for c in session.exec(   # a case opens on the screen or a re-test
        select(EnforcementCase).where(EnforcementCase.result_id.in_(ids)))}
    for r in results:
        s = samples[r.sample_id]
        c = commodities[r.commodity_id]
        v = vendors.get(s.vendor_id) if s.vendor_id else None
        case = cases.get(r.id) or cases.get(r.retest_of_id)
        row = BoardRow(r.tested_at, s.code, c.name_zh, c.name_en,
                       v.stall if v else "居民自购", methods[r.method_id].name_zh, r.verdict,
                       VERDICT_LABELS.get(r.verdict, (r.verdict, ""))[0],
                       tuple(handling_lines(case, rules.disposals, tz)) if case else ())
        board.week.append(row)
        if r.count_date == day:
            board.today.append(row)
    return board


# --------------------------------------------------------------------------- one stall (一户一码)

#: Path of the stall's public page in the app (dashboards/app.py registers it).
STALL_PAGE_PATH = "/stall"
RECENT_DAYS = 90      # the stall page lists this many days of results …
RECENT_LIMIT = 30     # … at most this many


def stall_url(market_code: str, stall: str, base_url: str | None = None) -> str:
    """The public page of a stall, e.g. ``http://host:8501/stall?market=M1&stall=A01``."""
    base = (base_url or load_settings().public_base_url).strip().rstrip("/")
    for suffix in ("/public", STALL_PAGE_PATH):   # a base given as a page's address
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return f"{base}{STALL_PAGE_PATH}?{urlencode({'market': market_code, 'stall': stall})}"


@dataclass(frozen=True)
class StallRow:
    tested_at: datetime
    code: str
    commodity_zh: str
    commodity_en: str
    method_zh: str
    method_en: str
    verdict: str


@dataclass
class StallView:
    market_code: str
    market: str
    stall: str
    name: str
    active: bool
    grade: str
    reason_en: str | None     # None: never graded (the default grade)
    reason_zh: str | None
    results: list[StallRow] = field(default_factory=list)


def find_stall(session: Session, market: str, stall: str) -> tuple[Market, Vendor]:
    """The market (code or name) and its stall; NotFound naming what is unknown."""
    m = RefCache.load(session).market(market.strip())
    v = session.exec(select(Vendor).where(Vendor.market_id == m.id,
                                          Vendor.stall == stall.strip())).first()
    if v is None:
        raise NotFound(f"no stall {stall!r} in market {m.code}")
    return m, v


def _grade_reasons(session: Session, v: Vendor) -> tuple[str | None, str | None]:
    """(English, Chinese) reason of the vendor's current grade, from the latest grading that gave
    it; the Chinese one is decided again from that grading's numbers when not stored."""
    hist = [h for h in grade_history(session=session, vendor_id=v.id) if h.grade == v.credit_grade]
    if not hist:
        return None, None
    h = hist[0]
    zh = getattr(h, "reason_zh", None)
    if not zh:
        d = decide_grade(dict(h.metrics or {}), load_grade_rules())
        zh = d.reason_zh if d.grade == h.grade else None
    return h.reason, zh


def stall_view(*, session: Session, market: str, stall: str, at: datetime | None = None,
               days: int = RECENT_DAYS, limit: int = RECENT_LIMIT) -> StallView:
    """A stall's grade and its recent first results (held and voided ones are never listed)."""
    m, v = find_stall(session, market, stall)
    at = at or now()
    reason_en, reason_zh = _grade_reasons(session, v)
    view = StallView(m.code, m.name, v.stall, v.name, v.active, v.credit_grade, reason_en,
                     reason_zh)
    rows = session.exec(
        select(TestResult, Sample).join(Sample, Sample.id == TestResult.sample_id)
        .where(Sample.vendor_id == v.id, TestResult.retest_of_id.is_(None),
               TestResult.status.in_(COUNTED_STATUSES), TestResult.tested_at <= at,
               TestResult.tested_at > at - timedelta(days=days))
        .order_by(TestResult.tested_at.desc(), TestResult.id.desc()).limit(limit)).all()
    commodities = {c.id: c for c in session.exec(select(Commodity))}
    methods = {x.id: x for x in session.exec(select(Method))}
    for r, s in rows:
        c, x = commodities[r.commodity_id], methods[r.method_id]
        view.results.append(StallRow(r.tested_at, s.code, c.name_zh, c.name_en, x.name_zh,
                                     x.name_en, r.verdict))
    return view


def public_state(*, session: Session, code: str) -> str | None:
    """What the public result page may show of sample ``code``: ``"shown"``, ``"held"`` (awaits
    review), ``"voided"``, or None (no such sample or no result yet)."""
    s = session.exec(select(Sample).where(Sample.code == code.strip().upper())).first()
    if s is None:
        return None
    first = session.exec(select(TestResult).where(TestResult.sample_id == s.id,
                                                  TestResult.retest_of_id.is_(None),
                                                  TestResult.status != ResultStatus.STAGED.value)
                         .order_by(TestResult.tested_at, TestResult.id)).first()
    if first is None:
        return None
    if first.status == ResultStatus.HELD.value:
        return "held"
    if first.status == ResultStatus.VOIDED.value:
        return "voided"
    return "shown"


def hidden_retest_times(*, session: Session, code: str) -> set[datetime]:
    """Test times of the sample's re-tests that are held (the public page leaves them out)."""
    s = session.exec(select(Sample).where(Sample.code == code.strip().upper())).first()
    if s is None:
        return set()
    return set(session.exec(select(TestResult.tested_at).where(
        TestResult.sample_id == s.id, TestResult.retest_of_id.is_not(None),
        TestResult.status.not_in(COUNTED_STATUSES))))
