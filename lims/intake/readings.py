"""What goes into the intake pipeline and what comes out: ``ReadingIn`` (one reading as received,
names in Chinese or English), ``Stored`` (what became of it) and ``IngestReport`` (a batch).

Wire shapes for the CLI's ``--json``, file imports and the HTTP API are in ``lims.wire``; they
convert to ``ReadingIn`` before anything is validated against the database.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lims.verdicts import Verdict

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_sample_code(day: date | None = None) -> str:
    """A short code for the slip, e.g. ``K7Q2M9XD``: 8 Crockford base32 digits, unique in the
    table (the caller checks). The first two name the sample's ``day`` (its ordinal modulo
    1 024; random without a day), the other six are 30 random bits.

    A day's codes thus sit together in the table's unique index: a batch inserts them into a
    few pages instead of one random page each (SQLite at 10 M results: a county's 5 000-reading
    batch wrote ~2 600 pages of that index). They stay as hard to guess: one day's few thousand
    codes among 2³⁰ (≈ 10⁹) draws, where 10 M codes among 2⁴⁰ were as dense."""
    bucket = day.toordinal() % 1024 if day is not None else secrets.randbelow(1024)
    n = bucket << 30 | secrets.randbits(30)
    return "".join(CODE_ALPHABET[(n >> shift) & 31] for shift in range(35, -1, -5))


@dataclass
class ReadingIn:
    """One reading to store. Names may be Chinese or English; ``raw`` as received.

    ``sample_code`` binds the reading to that sample; a code the database does not know yet
    creates the sample under it (market and commodity then required); no code creates a sample
    with a new code. ``kit_lot`` names the test kit's lot: an unknown lot is refused, an expired
    one holds the result for review (``lims.intake.gate``).
    """

    method: str
    raw: dict[str, Any]
    tested_at: datetime
    sample_code: str | None = None
    market: str | None = None            # market code or name
    vendor_stall: str | None = None
    resident_purchase: bool = False
    commodity: str | None = None
    analyte: str | None = None
    instrument_serial: str | None = None
    channel: str | None = None
    instrument_verdict: str | None = None
    tested_by: str = ""
    event_id: int | None = None
    standard: str | None = None          # pin a threshold edition (quantitative)
    retest_of_id: int | None = None      # else: the sample's first screen, when it has one
    source: str = "manual"
    ingest_key: str | None = None        # given by the listener (hash of the message)
    row: int | str | None = None         # where it came from, for error messages
    kit_lot: str | None = None           # the kit lot tested with: LOT or KIT/LOT (issue 14)
    received_at: datetime | None = None  # a port reading: when the listener received it
    journal_ref: str = ""                # … and where it sits in the journal (issue 19)

    def default_key(self) -> str:
        payload = {
            "method": self.method, "raw": self.raw, "tested_at": self.tested_at.isoformat(),
            "sample": self.sample_code, "market": self.market, "vendor": self.vendor_stall,
            "commodity": self.commodity, "analyte": self.analyte,
            "instrument": self.instrument_serial, "channel": self.channel,
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Stored:
    """What became of one reading: a new result, or a duplicate of a stored one."""

    row: int | str | None
    result_id: int
    sample_code: str
    verdict: Verdict
    instrument_verdict: str | None
    mismatch: bool
    status: str
    calibration_state: str
    duplicate: bool = False
    case_id: int | None = None       # the case the result opened (follow-up)
    alert_id: int | None = None      # the alert it raised (follow-up)
    unbound_id: int | None = None    # kept as an UnboundReading: no sample found (no result)
    ingest_key: str | None = None    # a new result's (its idempotency key)

    @property
    def state(self) -> str:
        if self.unbound_id is not None:
            return "unbound"
        return "duplicate" if self.duplicate else "stored"


@dataclass
class IngestReport:
    stored: list[Stored] = field(default_factory=list)
    graded_vendor_ids: list[int] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for s in self.stored if not s.duplicate and s.unbound_id is None)

    @property
    def duplicates(self) -> int:
        return sum(1 for s in self.stored if s.duplicate)

    @property
    def new_result_ids(self) -> list[int]:
        return [s.result_id for s in self.stored if not s.duplicate and s.unbound_id is None]

    @property
    def unbound(self) -> int:
        return sum(1 for s in self.stored if s.unbound_id is not None and not s.duplicate)
