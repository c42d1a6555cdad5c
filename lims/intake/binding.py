"""Validation and binding: the first stage of the intake pipeline.

Every reading of a batch is checked against the reference data (method, commodity, analyte,
market, vendor, instrument) and bound to the sample it belongs to:

* a ``sample_code`` the database knows → that sample (a market or commodity given beside it must
  be the sample's own); a reading identical to a result the sample already has (same method,
  time to the second and raw values) is a duplicate, so a file exported and imported again adds
  nothing;
* a ``sample_code`` the database does not know → a new sample created under that code (market
  and commodity required); readings of one batch that share the code land on one sample;
* no code → a new sample with a drawn code.

A reading on a sample that already has a first screen (tested before it) is a re-test of that
screen (``retest_of_id``); of several readings of one new sample, the earliest is the screen.
Every problem becomes a ``RowError``; the caller raises them together, nothing written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from lims.errors import LimsError, RowError
from lims.intake import judging
from lims.intake.batches import BatchBook
from lims.intake.readings import ReadingIn
from lims.models import Analyte, Commodity, Instrument, Market, Method, Sample, TestResult, Vendor
from lims.reference.lookup import RefCache
from lims.storage.bulk import among
from lims.verdicts import Outcome, parse_outcome


@dataclass
class Bound:
    """A validated reading with what it names and where it lands."""

    reading: ReadingIn
    key: str
    method: Method
    commodity: Commodity | None      # None only for an unbound reading
    analyte: Analyte | None
    market: Market | None
    vendor: Vendor | None
    instrument: Instrument | None
    sample: Sample | None            # an existing sample, else a new one (``new_code`` or drawn)
    new_code: str | None
    instrument_outcome: Outcome | None
    duplicate_of: TestResult | None = None  # an identical result already on the sample
    group: str = ""                  # readings of one sample in this batch share the group
    unbound: str | None = None       # why no sample could be found: kept as an UnboundReading


def _raw_key(raw: dict[str, Any]) -> str:
    norm = {k: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for k, v in raw.items()}
    return json.dumps(norm, sort_keys=True, ensure_ascii=False, default=str)


def _second(ts: datetime) -> datetime:
    return ts.replace(microsecond=0)


class SampleBook:
    """The samples a batch names, with their results' fingerprints and first screens."""

    def __init__(self, session: Session, codes: set[str]):
        self.session = session
        self.by_code: dict[str, Sample] = {}
        self.have: dict[tuple, TestResult] = {}   # (sample, method, second, raw) → result
        self.screens: dict[int, TestResult] = {}  # sample id → its first screen
        self.load(session, codes)

    def load(self, session: Session, codes: set[str]) -> None:
        codes_l = sorted(codes - set(self.by_code))
        for i in range(0, len(codes_l), 500):
            for s in session.exec(select(Sample).where(among(session, Sample.code, codes_l[i:i + 500]))):
                self.by_code[s.code] = s
        ids = [s.id for c, s in self.by_code.items() if c in codes_l]
        for i in range(0, len(ids), 500):
            q = (select(TestResult).where(among(session, TestResult.sample_id, ids[i:i + 500]))
                 .order_by(TestResult.tested_at, TestResult.id))
            for tr in session.exec(q):
                self.have[(tr.sample_id, tr.method_id, _second(tr.tested_at),
                           _raw_key(tr.raw))] = tr
                if tr.retest_of_id is None:
                    self.screens.setdefault(tr.sample_id, tr)


def bind(readings: list[ReadingIn], session: Session, cache: RefCache,
         errors: list[RowError]) -> list[Bound | None]:
    """Validate and bind every reading; problems are appended to ``errors``."""
    unbound = _by_channel(readings, session, cache)
    book = SampleBook(session, {r.sample_code for r in readings if r.sample_code})
    cache.load_stalls(session, {m.id for r in readings if r.market and r.vendor_stall
                                if (m := cache.find_market(r.market)) is not None})
    out = [_bind_one(r, i, cache, book, errors, unbound.get(id(r)))
           for i, r in enumerate(readings, start=1)]
    _check_new_groups([b for b in out if b is not None and b.new_code], errors)
    return out


def _check_new_groups(bound: list[Bound], errors: list[RowError]) -> None:
    first: dict[str, Bound] = {}
    for b in bound:
        head = first.setdefault(b.new_code or "", b)
        if head is not b and (head.market, head.vendor, head.commodity) != (
                b.market, b.vendor, b.commodity):
            errors.append(RowError(b.reading.row or 0, "sample_code",
                                   f"new sample {b.new_code} has another market/vendor/commodity "
                                   f"on row {head.reading.row}"))


def _by_channel(readings: list[ReadingIn], session: Session, cache: RefCache) -> dict[int, str]:
    """Readings naming only instrument + channel: give them the code of the sample on that
    channel of the instrument's batch at the reading's time. Returns, per reading that finds no
    sample and cannot make one, why (it is then kept as unbound)."""
    todo = [r for r in readings if not r.sample_code and r.instrument_serial and r.channel]
    if not todo:
        return {}
    inst = {}
    for r in todo:
        try:
            inst[id(r)] = cache.instrument(r.instrument_serial)
        except LimsError:
            pass   # reported by _bind_one
    book = BatchBook(session, {i.id for i in inst.values()})
    out: dict[int, str] = {}
    for r in todo:
        i = inst.get(id(r))
        if i is None:
            continue
        batch, code = book.sample_for(i.id, r.channel, r.tested_at)
        if code:   # the registered sample decides where and what; the instrument's own
            r.sample_code, r.market, r.commodity = code, None, None   # names are only hints
        elif batch is not None:
            out[id(r)] = (f"channel {r.channel} of {i.serial_no} holds no sample in batch "
                          f"{batch.id}")
        elif not r.commodity:
            out[id(r)] = (f"no sample code, no batch of {i.serial_no} at "
                          f"{r.tested_at.isoformat()} and no commodity to make a sample")
    return out


def _bind_one(r: ReadingIn, idx: int, cache: RefCache, book: SampleBook,
              errors: list[RowError], unbound: str | None = None) -> Bound | None:
    row = r.row if r.row is not None else idx
    n_before = len(errors)

    def bad(fieldname: str, msg: str) -> None:
        errors.append(RowError(row, fieldname, msg))

    def look(fieldname: str, fn, *args):
        try:
            return fn(*args)
        except LimsError as e:
            bad(fieldname, str(e))
            return None

    method = look("method", cache.method, r.method)
    if r.tested_at.tzinfo is None:
        bad("tested_at", "timestamp without time zone")
    if unbound is not None:   # no sample to check against: kept as it came, for a person
        instrument = look("instrument", cache.instrument, r.instrument_serial)
        if len(errors) > n_before:
            return None
        assert method is not None
        return Bound(r, r.ingest_key or r.default_key(), method, None, None, None, None,
                     instrument, None, None, None, unbound=unbound)
    commodity = analyte = market = vendor = instrument = outcome = None
    sample = book.by_code.get(r.sample_code) if r.sample_code else None
    if sample is not None:
        commodity = cache.commodity_by_id.get(sample.commodity_id)
        if r.market and getattr(look("market", cache.market, r.market), "id",
                                sample.market_id) != sample.market_id:
            bad("market", f"sample {sample.code} is not from {r.market!r}")
        if r.commodity and getattr(look("commodity", cache.commodity, r.commodity), "id",
                                   sample.commodity_id) != sample.commodity_id:
            bad("commodity", f"sample {sample.code} is not {r.commodity!r}")
    else:
        if not r.commodity:
            bad("commodity", "missing" + (f" (sample code {r.sample_code} is new: name its "
                                          "commodity)" if r.sample_code else ""))
        else:
            commodity = look("commodity", cache.commodity, r.commodity)
        if r.market:
            market = look("market", cache.market, r.market)
        elif not r.resident_purchase and r.event_id is None:
            bad("market", "missing (give a market, or an event for a resident's purchase)")
        if r.vendor_stall and market is not None:
            vendor = look("vendor_stall", cache.vendor, market, r.vendor_stall, book.session)
    if r.analyte:
        analyte = look("analyte", cache.analyte, r.analyte)
    elif method is not None and method.analyte_id is not None:
        analyte = cache.analyte_by_id.get(method.analyte_id)
    if r.instrument_serial:
        instrument = look("instrument", cache.instrument, r.instrument_serial)
    if r.instrument_verdict:
        try:
            outcome = parse_outcome(r.instrument_verdict)
        except ValueError as e:
            bad("instrument_verdict", str(e))
    if method is not None:
        _check_method(method, r, analyte, bad)
    if len(errors) > n_before:
        return None
    assert method is not None and commodity is not None
    b = Bound(r, r.ingest_key or r.default_key(), method, commodity, analyte, market, vendor,
              instrument, sample, None if sample else r.sample_code, outcome)
    if sample is not None:
        b.group = f"s{sample.id}"
        b.duplicate_of = book.have.get((sample.id, method.id, _second(r.tested_at),
                                        _raw_key(r.raw)))
        screen = book.screens.get(sample.id)
        if r.retest_of_id is None and screen is not None and screen.tested_at <= r.tested_at:
            r.retest_of_id = screen.id   # a re-test or lab result of the sample's screen
    elif r.sample_code:
        b.group = f"n{r.sample_code}"
    return b


def _check_method(method: Method, r: ReadingIn, analyte: Analyte | None, bad) -> None:
    missing = [k for k in judging.raw_keys_of(method) if r.raw.get(k) in (None, "")]
    if missing:
        bad("raw", f"method {method.code} ({method.kind}) needs {', '.join(missing)}")
    if not method.is_rapid and analyte is None:
        bad("analyte", f"method {method.code} is quantitative: name the analyte")
    if r.retest_of_id is not None and method.is_rapid and r.source == "objection":
        bad("method", "a re-test on objection may not use a rapid method")
