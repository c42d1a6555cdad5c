"""Instrument clocks (issue 19): the instrument's time against the listener's receive time.

A reading heard on a port carries two times: ``tested_at``, from the frame (the instrument's own
clock), and ``received_at``, when the listener journalled its bytes (``lims.listening.journal``;
stored on the result with ``journal_ref``, the ``file@start-end`` span of its bytes in the
instrument's journal). Their difference, the **offset** = tested_at − received_at, is the
instrument clock's error minus the transmission delay (normally seconds).

* **Drift**: an instrument whose median offset over the window is more than
  ``LIMS_CLOCK_DRIFT_MINUTES`` (default 5) either way: its clock needs setting, and its results'
  times (and so their day, week and the calibration in force) are off by that much.
* **Back-dated**: a reading that arrived more than ``LIMS_BACKDATE_MINUTES`` (default 60) after
  the time it claims, beyond the instrument's usual offset (lag = received_at − tested_at +
  median offset): a result typed into the instrument's memory and sent later, or a clock set
  back on purpose. One reading cannot be told from its own instrument's drift, so an instrument
  needs other readings in the window before its readings can be flagged.

Only listener results (``source = "listener"``) with a receive time are compared; a frame that
carried no time was stored with tested_at = received_at and is left out. Voided results too.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlmodel import Session, select

from lims.errors import ConfigError
from lims.models import Instrument, Sample, TestResult
from lims.models.enums import NOT_SHOWN_STATUSES
from lims.settings import setting
from lims.timeutil import now


@dataclass(frozen=True)
class InstrumentClock:
    instrument_id: int
    serial: str
    readings: int
    median_offset_minutes: float      # tested_at − received_at; + = the instrument runs ahead
    worst_offset_minutes: float       # the largest in size, with its sign
    last_received_at: datetime
    drift: bool


@dataclass(frozen=True)
class BackdatedReading:
    result_id: int
    sample_code: str
    serial: str
    tested_at: datetime
    received_at: datetime
    lag_minutes: float                # received_at − tested_at, corrected by the median offset
    journal_ref: str


@dataclass(frozen=True)
class ClockReport:
    drift_minutes: float
    backdate_minutes: float
    instruments: list[InstrumentClock]
    backdated: list[BackdatedReading]

    @property
    def drifting(self) -> list[InstrumentClock]:
        return [i for i in self.instruments if i.drift]


def _minutes_setting(name: str) -> float:
    text = setting(name) or ""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number of minutes, got {text!r}")
    return value


def thresholds() -> tuple[float, float]:
    """(drift, back-date) thresholds in minutes from the settings."""
    return (_minutes_setting("LIMS_CLOCK_DRIFT_MINUTES"), _minutes_setting("LIMS_BACKDATE_MINUTES"))


class _Row(NamedTuple):
    id: int
    instrument_id: int
    tested_at: datetime
    received_at: datetime
    journal_ref: str | None
    code: str
    serial_no: str


#: how far back the method-watch page looks at received readings
WINDOW = timedelta(days=30)


def default_since() -> datetime:
    """The start of the page's window: readings received in the last ``WINDOW``."""
    return now() - WINDOW


def clock_report(*, session: Session, since: datetime | None = None,
                 drift_minutes: float | None = None, backdate_minutes: float | None = None,
                 limit: int = 200) -> ClockReport:
    """Per instrument its clock offset, and the back-dated readings (newest first, at most
    ``limit``), over the listener results received since ``since`` (None: all)."""
    d_set, b_set = thresholds() if drift_minutes is None or backdate_minutes is None else (0, 0)
    drift_minutes = d_set if drift_minutes is None else drift_minutes
    backdate_minutes = b_set if backdate_minutes is None else backdate_minutes
    # the results table alone, so that the planner reads it through the partial index on
    # received_at (joined to the instruments, SQLite walked every result of each instrument:
    # 60 s at 10 M results); sample codes and serial numbers are looked up after
    q = (select(TestResult.id, TestResult.instrument_id, TestResult.sample_id,
                TestResult.tested_at, TestResult.received_at, TestResult.journal_ref)
         .where(TestResult.source == "listener", TestResult.received_at.is_not(None),
                TestResult.status.not_in(NOT_SHOWN_STATUSES)))
    if since is not None:
        q = q.where(TestResult.received_at >= since)
    found = [r for r in session.exec(q.order_by(TestResult.received_at, TestResult.id))
             if r.tested_at != r.received_at]
    serials = dict(session.exec(select(Instrument.id, Instrument.serial_no)).all())
    sample_ids = sorted({r.sample_id for r in found})
    codes: dict[int, str] = {}
    for i in range(0, len(sample_ids), 500):
        codes.update(session.exec(select(Sample.id, Sample.code)
                                  .where(Sample.id.in_(sample_ids[i:i + 500]))).all())
    rows = [_Row(r.id, r.instrument_id, r.tested_at, r.received_at, r.journal_ref,
                 codes.get(r.sample_id, ""), serials.get(r.instrument_id, ""))
            for r in found if r.instrument_id in serials]
    by_inst: dict[int, list] = {}
    for r in rows:
        by_inst.setdefault(r.instrument_id, []).append(r)
    clocks, backdated = [], []
    for iid, rs in by_inst.items():
        offsets = [(r.tested_at - r.received_at).total_seconds() / 60 for r in rs]
        median = statistics.median(offsets)
        clocks.append(InstrumentClock(iid, rs[0].serial_no, len(rs), round(median, 2),
                                      round(max(offsets, key=abs), 2), rs[-1].received_at,
                                      abs(median) > drift_minutes))
        if len(rs) < 2:
            continue
        for r, off in zip(rs, offsets, strict=True):
            lag = median - off
            if lag > backdate_minutes:
                backdated.append(BackdatedReading(r.id, r.code, r.serial_no, r.tested_at,
                                                  r.received_at, round(lag, 1), r.journal_ref))
    clocks.sort(key=lambda c: (not c.drift, c.serial))
    backdated.sort(key=lambda b: (b.received_at, b.result_id), reverse=True)
    return ClockReport(drift_minutes, backdate_minutes, clocks, backdated[:limit])
