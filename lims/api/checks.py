"""Checks the API makes on uploaded readings before the intake pipeline sees them.

The pipeline (``lims.intake.pipeline.accept_readings``) already refuses unknown methods,
commodities, markets, stalls and instruments and missing raw values. An upload from a station
is refused further for

* a ``tested_at`` more than ``LIMS_FUTURE_TOLERANCE_MINUTES`` ahead of the server's clock
  (instrument clocks drift; a reading from the future is a clock to set, not a result);
* a method the named instrument does not run: an instrument with a configured method
  (``Instrument.method_id``) runs the methods of that method's kind (a colloidal-gold reader
  reads every gold kit, never an enzyme-inhibition test);
* values the database cannot hold (a sample code that is not one, an over-long channel or
  tester name, a number that is not finite).

Each problem is a ``RowError`` whose row is the reading's index in the batch.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from lims.errors import LimsError, RowError
from lims.files.results_import import CODE_RE
from lims.intake.readings import ReadingIn
from lims.reference.lookup import RefCache

MAX_LENGTHS = {"channel": 10, "tested_by": 100}


def future_times(readings: list[ReadingIn], now: datetime, tolerance_minutes: int
                 ) -> list[RowError]:
    latest = now + timedelta(minutes=tolerance_minutes)
    out = []
    for r in readings:
        if r.tested_at > latest:
            ahead = (r.tested_at - now).total_seconds() / 60
            out.append(RowError(r.row, "tested_at", (
                f"{r.tested_at.isoformat()} is {ahead:.0f} minutes ahead of the server's clock; "
                f"readings more than {tolerance_minutes} minutes in the future are refused "
                "(LIMS_FUTURE_TOLERANCE_MINUTES): instrument clocks drift, so check and set "
                "the instrument's clock, then send the reading again")))
    return out


def instrument_methods(readings: list[ReadingIn], cache: RefCache) -> list[RowError]:
    out = []
    for r in readings:
        if not r.instrument_serial:
            continue
        try:
            inst = cache.instrument(r.instrument_serial)
            method = cache.method(r.method)
        except LimsError:
            continue   # the pipeline names the unknown instrument or method
        own = cache.method_by_id.get(inst.method_id) if inst.method_id else None
        if own is not None and method.kind != own.kind:
            out.append(RowError(r.row, "method", (
                f"instrument {inst.serial_no} does not run {method.code} ({method.kind}): it is "
                f"set up for {own.code} ({own.kind}) methods")))
    return out


def stored_shapes(readings: list[ReadingIn]) -> list[RowError]:
    out = []
    for r in readings:
        if r.sample_code and not CODE_RE.match(r.sample_code):
            out.append(RowError(r.row, "sample_code", f"{r.sample_code!r} is not a sample code "
                                "(4–20 letters, digits or dashes)"))
        for name, limit in MAX_LENGTHS.items():
            value = getattr(r, name) or ""
            if len(value) > limit:
                out.append(RowError(r.row, name, f"at most {limit} characters (got "
                                    f"{len(value)})"))
        for key, value in r.raw.items():
            if isinstance(value, float) and not math.isfinite(value):
                out.append(RowError(r.row, key, f"not a finite number: {value!r}"))
    return out


def check_batch(readings: list[ReadingIn], cache: RefCache, now: datetime,
                tolerance_minutes: int) -> list[RowError]:
    """Every problem of the batch the pipeline does not look for (see the module docstring)."""
    return (stored_shapes(readings) + future_times(readings, now, tolerance_minutes)
            + instrument_methods(readings, cache))
