"""Reads for the field page: the newest reading of an instrument, the day's running figures of
a market or an event, a market's stalls, the instruments to test with, the recent events.
Each is one indexed query (the field page is opened in a crowd, on a 10 M-result database)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from lims.errors import InvalidInput, NotFound
from lims.models import Commodity, Instrument, Market, Method, Sample, TestResult, Vendor
from lims.models.enums import NOT_SHOWN_STATUSES
from lims.timeutil import local_tz, week_start

_T = TestResult.__table__.c


def latest_reading(*, session: Session, instrument_id: int, since: datetime | None = None,
                   ) -> dict | None:
    """The newest stored result from ``instrument_id`` (after ``since`` when given)."""
    c = Commodity.__table__.c
    s = Sample.__table__.c
    q = (sa.select(_T.id, _T.tested_at, _T.verdict, _T.computed_value, _T.computed_unit,
                   _T.status, _T.channel, _T.verdict_reasons, s.code.label("sample"),
                   c.name_zh, c.name_en)
         .join_from(TestResult, Sample, _T.sample_id == s.id)
         .join(Commodity, _T.commodity_id == c.id)
         .where(_T.instrument_id == instrument_id).order_by(_T.tested_at.desc(), _T.id.desc())
         .limit(1))
    if since is not None:
        q = q.where(_T.tested_at >= since)
    row = session.connection().execute(q).first()
    return dict(row._mapping) if row else None


def running_figures(*, session: Session, on: date, market_id: int | None = None,
                    event_id: int | None = None) -> dict[str, int]:
    """Counts per verdict of the samples of one event (all days) or one market on day ``on``,
    each once with its final verdict as in ``lims.intake.counting`` (held ones shown too)."""
    if market_id is None and event_id is None:
        raise InvalidInput("running_figures: give market_id or event_id")
    q = (sa.select(_T.sample_id, _T.verdict, Method.is_rapid, _T.tested_at, _T.id)
         .join_from(TestResult, Method).where(_T.status.not_in(NOT_SHOWN_STATUSES)))
    if event_id is not None:
        s = Sample.__table__.c
        q = q.join(Sample, _T.sample_id == s.id).where(s.event_id == event_id)
    else:
        q = q.where(_T.market_id == market_id, _T.week_start == week_start(on),   # indexed
                    _T.local_date == on)
    final: dict[int, tuple] = {}
    for sid, verdict, rapid, at, rid in session.connection().execute(q):
        final[sid] = max(final.get(sid, ()), ((not rapid, at, rid), verdict))
    out = dict(Counter(verdict for _rank, verdict in final.values()))
    out["total"] = len(final)
    return out


def vendors_of(*, session: Session, market_id: int) -> list[dict]:
    v = Vendor.__table__.c
    if session.get(Market, market_id) is None:
        raise NotFound(f"unknown market id {market_id}")
    return [dict(r._mapping) for r in session.connection().execute(
        sa.select(v.id, v.stall, v.name, v.credit_grade, v.active).where(v.market_id == market_id)
        .order_by(v.stall))]


def instruments_for_field(*, session: Session, market_id: int | None = None) -> list[dict]:
    """Active reading instruments (analyzers and card readers), the market's own first."""
    i = Instrument.__table__.c
    rows = [dict(r._mapping) for r in session.connection().execute(
        sa.select(i.id, i.serial_no, i.model, i.kind, i.market_id, i.method_id)
        .where(i.active, i.kind.in_(("pesticide_analyzer", "card_reader")))
        .order_by(i.serial_no))]
    rows.sort(key=lambda r: r["market_id"] != market_id)
    return rows


def recent_events(*, session: Session, on: date, days_back: int = 14) -> list[dict]:
    """Outreach events starting between ``days_back`` days before ``on`` and the day after."""
    from lims.models import OutreachEvent

    e = OutreachEvent.__table__.c
    tz = local_tz()
    lo = datetime.combine(on - timedelta(days=days_back), time(0), tzinfo=tz)
    hi = datetime.combine(on + timedelta(days=2), time(0), tzinfo=tz)
    q = (sa.select(e.id, e.name, e.kind, e.place, e.market_id, e.starts_at)
         .where(e.starts_at >= lo, e.starts_at < hi).order_by(e.starts_at.desc()))
    return [dict(r._mapping) for r in session.connection().execute(q)]
