"""The one way readings enter the store: typed in, imported from a file, or heard on a serial port.

``ingest(session=…, readings=[ReadingIn …])`` resolves names, recomputes every verdict with the
verdict engine, keeps the instrument's own verdict beside it (a disagreement is flagged), applies
the calibration gate and stores each reading once (``ingest_key``). The whole batch is validated
before anything is written: any bad reading raises ValidationFailed with one RowError per problem
and the batch writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, select

from lims.errors import LimsError, RowError, ValidationFailed
from lims.intake import gate, rollups
from lims.intake.judging import RAW_KEYS, judge
from lims.models import Analyte, Commodity, Instrument, Market, Method, Sample, TestResult, Vendor
from lims.models.enums import CalibrationState, MethodKind, ResultStatus
from lims.models.results import new_uuid
from lims.reference.lookup import RefCache
from lims.storage import bulk
from lims.storage.engine import begin_write
from lims.timeutil import DEFAULT_TZ, local_date, now, week_start
from lims.verdicts import Outcome, Verdict, parse_outcome, same_meaning

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_sample_code() -> str:
    """A short code for the slip, e.g. ``K7Q2M9XD`` (32⁸ ≈ 10¹² codes; unique in the table)."""
    n = int.from_bytes(secrets.token_bytes(5), "big")  # 40 random bits = 8 base32 digits
    return "".join(CODE_ALPHABET[(n >> shift) & 31] for shift in range(35, -1, -5))


@dataclass
class ReadingIn:
    """One reading to store. Names may be Chinese or English; ``raw`` as received."""

    method: str
    raw: dict[str, Any]
    tested_at: datetime
    sample_code: str | None = None       # an existing sample; else the sample is created
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
    retest_of_id: int | None = None
    source: str = "manual"
    ingest_key: str | None = None        # given by the listener (hash of the message)
    row: int | str | None = None         # where it came from, for error messages

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
    row: int | str | None
    result_id: int
    sample_code: str
    verdict: Verdict
    instrument_verdict: str | None
    mismatch: bool
    status: str
    calibration_state: str
    duplicate: bool = False


@dataclass
class IngestReport:
    stored: list[Stored] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for s in self.stored if not s.duplicate)

    @property
    def duplicates(self) -> int:
        return sum(1 for s in self.stored if s.duplicate)


@dataclass
class _Resolved:
    reading: ReadingIn
    key: str
    method: Method
    commodity: Commodity
    analyte: Analyte | None
    market: Market | None
    vendor: Vendor | None
    instrument: Instrument | None
    sample: Sample | None
    instrument_outcome: Outcome | None


def _resolve(r: ReadingIn, idx: int, cache: RefCache, samples: dict[str, Sample],
             errors: list[RowError]) -> _Resolved | None:
    row = r.row if r.row is not None else idx
    n_before = len(errors)

    def bad(fieldname: str, msg: str) -> None:
        errors.append(RowError(row, fieldname, msg))

    method = commodity = analyte = market = vendor = instrument = sample = None
    outcome = None
    try:
        method = cache.method(r.method)
    except LimsError as e:
        bad("method", str(e))
    if r.tested_at.tzinfo is None:
        bad("tested_at", "timestamp without time zone")
    if r.sample_code:
        sample = samples.get(r.sample_code)
        if sample is None:
            bad("sample_code", f"unknown sample code {r.sample_code!r}")
        else:
            commodity = cache.commodity_by_id.get(sample.commodity_id)
    else:
        if not r.commodity:
            bad("commodity", "missing")
        else:
            try:
                commodity = cache.commodity(r.commodity)
            except LimsError as e:
                bad("commodity", str(e))
        if r.market:
            try:
                market = cache.market(r.market)
            except LimsError as e:
                bad("market", str(e))
        elif not r.resident_purchase and r.event_id is None:
            bad("market", "missing (give a market, or an event for a resident's purchase)")
        if r.vendor_stall and market is not None:
            try:
                vendor = cache.vendor(market, r.vendor_stall)
            except LimsError as e:
                bad("vendor_stall", str(e))
    if r.analyte:
        try:
            analyte = cache.analyte(r.analyte)
        except LimsError as e:
            bad("analyte", str(e))
    elif method is not None and method.analyte_id is not None:
        analyte = cache.analyte_by_id.get(method.analyte_id)
    if r.instrument_serial:
        try:
            instrument = cache.instrument(r.instrument_serial)
        except LimsError as e:
            bad("instrument", str(e))
    if r.instrument_verdict:
        try:
            outcome = parse_outcome(r.instrument_verdict)
        except ValueError as e:
            bad("instrument_verdict", str(e))
    if method is not None:
        kind = MethodKind(method.kind)
        missing = [k for k in RAW_KEYS[kind] if r.raw.get(k) in (None, "")]
        if missing:
            bad("raw", f"method {method.code} ({kind.value}) needs {', '.join(missing)}")
        if kind is MethodKind.LAB_QUANTITATIVE and analyte is None:
            bad("analyte", f"method {method.code} is quantitative: name the analyte")
        if r.retest_of_id is not None and method.is_rapid and r.source == "objection":
            bad("method", "a re-test on objection may not use a rapid method")
    if len(errors) > n_before:
        return None
    assert method is not None and commodity is not None
    return _Resolved(r, r.ingest_key or r.default_key(), method, commodity, analyte, market,
                     vendor, instrument, sample, outcome)


def ingest(*, session: Session, readings: list[ReadingIn], cache: RefCache | None = None,
           tz=DEFAULT_TZ) -> IngestReport:
    """Validate the whole batch, then store it (or nothing). See the module docstring."""
    cache = cache or RefCache.load(session)
    codes = [r.sample_code for r in readings if r.sample_code]
    samples: dict[str, Sample] = {}
    if codes:
        for s in session.exec(select(Sample).where(Sample.code.in_(set(codes)))):
            samples[s.code] = s

    errors: list[RowError] = []
    resolved = [_resolve(r, i, cache, samples, errors) for i, r in enumerate(readings, start=1)]
    if errors:
        raise ValidationFailed(errors, "readings")

    begin_write(session)  # SQLite: checks and inserts below see no other writer (no races)
    keys = [x.key for x in resolved if x is not None]
    t = TestResult.__table__.c
    existing: dict[str, Any] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        for row in session.execute(sa.select(
                t.ingest_key, t.id, t.verdict, t.instrument_verdict, t.verdict_mismatch, t.status,
                t.calibration_state).where(t.ingest_key.in_(chunk))):
            existing[row.ingest_key] = row

    inst_ids = {x.instrument.id for x in resolved if x is not None and x.instrument is not None}
    records = gate.latest_records(session, inst_ids) if inst_ids else {}

    # Stored with bulk Core inserts (one executemany per table): the ORM's
    # per-object bookkeeping cost more than judging (docs/performance.md).
    slots: list[Stored | int | str] = []   # a prior duplicate, a pending index, or a repeated key
    pending: list[tuple[_Resolved, dict, int, Verdict, bool]] = []  # int: sample slot
    first_of: dict[str, int] = {}
    sample_rows: list[dict] = []
    old_samples: list[Sample] = []
    stamp = now()
    for x in resolved:
        assert x is not None
        r = x.reading
        prior = existing.get(x.key)
        if prior is not None:
            slots.append(Stored(r.row, prior.id or 0, "", Verdict(Outcome(prior.verdict)),
                                prior.instrument_verdict, prior.verdict_mismatch, prior.status,
                                prior.calibration_state, duplicate=True))
            continue
        if x.key in first_of:
            slots.append(x.key)
            continue
        if x.sample is None:
            sample_rows.append({
                "uuid": new_uuid(), "code": new_sample_code(),
                "market_id": x.market.id if x.market else None,
                "vendor_id": x.vendor.id if x.vendor else None,
                "resident_purchase": r.resident_purchase, "commodity_id": x.commodity.id,
                "taken_at": r.tested_at, "taken_by": r.tested_by, "event_id": r.event_id})
            s_slot = len(sample_rows) - 1
            market_id, commodity_id = sample_rows[-1]["market_id"], x.commodity.id
        else:
            old_samples.append(x.sample)
            s_slot = -len(old_samples)
            market_id, commodity_id = x.sample.market_id, x.sample.commodity_id
        day = local_date(r.tested_at, tz)
        verdict = judge(x.method, r.raw, commodity=x.commodity, analyte=x.analyte, on=day,
                        limit_for=lambda a, c, on, std: cache.limit(a, c, on, std),
                        standard=r.standard)
        mismatch = x.instrument_outcome is not None and not same_meaning(verdict.outcome,
                                                                        x.instrument_outcome)
        if x.instrument is not None:
            state = gate.state_at(records.get(x.instrument.id, []), r.tested_at)
        else:
            state = CalibrationState.NOT_APPLICABLE
        status = gate.status_for(state)
        reasons = list(verdict.reasons) + [f"warning: {w}" for w in verdict.warnings]
        if mismatch:
            reasons.append(f"instrument said {r.instrument_verdict!r}, the engine says "
                           f"{verdict.outcome.value}: flagged for review")
        if status is ResultStatus.HELD:
            reasons.append(f"held: instrument calibration {state.value} at test time")
        row = {
            "method_id": x.method.id, "analyte_id": x.analyte.id if x.analyte else None,
            "instrument_id": x.instrument.id if x.instrument else None, "channel": r.channel,
            "tested_at": r.tested_at, "tested_by": r.tested_by, "raw": r.raw,
            "computed_value": verdict.value, "computed_unit": verdict.unit,
            "verdict": verdict.outcome.value, "verdict_reasons": reasons,
            "instrument_verdict": x.instrument_outcome.value if x.instrument_outcome else None,
            "verdict_mismatch": mismatch,
            "threshold_id": (verdict.threshold or {}).get("threshold_id"),
            "status": status.value, "calibration_state": state.value,
            "retest_of_id": r.retest_of_id, "source": r.source, "ingest_key": x.key,
            "market_id": market_id, "commodity_id": commodity_id,
            "local_date": day, "week_start": week_start(day), "created_at": stamp,
        }
        first_of[x.key] = len(pending)
        slots.append(len(pending))
        pending.append((x, row, s_slot, verdict, mismatch))

    session.flush()  # what the caller added before, so the bulk inserts can refer to it
    sample_ids = _insert_samples(session, sample_rows)

    def sample_of(s_slot: int) -> tuple[int, str]:
        if s_slot >= 0:
            return sample_ids[s_slot], sample_rows[s_slot]["code"]
        sm = old_samples[-s_slot - 1]
        return sm.id, sm.code

    for _x, row, s_slot, _v, _m in pending:
        row["sample_id"] = sample_of(s_slot)[0]
    result_ids = _insert_ids(session, TestResult.__table__, [p[1] for p in pending],
                            "ingest_key")
    rollups.add_results(session=session, results=[p[1] for p in pending])
    new: list[Stored] = []
    for (x, row, s_slot, verdict, mismatch), rid in zip(pending, result_ids, strict=True):
        new.append(Stored(x.reading.row, rid, sample_of(s_slot)[1], verdict,
                          row["instrument_verdict"], mismatch, row["status"],
                          row["calibration_state"]))
    report = IngestReport()
    for x, slot in zip(resolved, slots, strict=True):
        if isinstance(slot, Stored):
            report.stored.append(slot)
        elif isinstance(slot, int):
            report.stored.append(new[slot])
        else:  # the same reading twice in one batch: stored once
            f = new[first_of[slot]]
            assert x is not None
            report.stored.append(Stored(x.reading.row, f.result_id, "", f.verdict,
                                        f.instrument_verdict, f.mismatch, f.status,
                                        f.calibration_state, duplicate=True))
    return report


def _free_codes(session: Session, rows: list[dict]) -> None:
    """Give every new sample a code unique in the batch and in the table (redrawn on collision)."""
    for _attempt in range(20):
        codes = [r["code"] for r in rows]
        taken: set[str] = set()
        for i in range(0, len(codes), 500):
            taken.update(session.execute(sa.select(Sample.__table__.c.code).where(
                Sample.__table__.c.code.in_(codes[i:i + 500]))).scalars())
        seen: set[str] = set()
        clash = False
        for r in rows:
            if r["code"] in taken or r["code"] in seen:
                r["code"] = new_sample_code()
                clash = True
            seen.add(r["code"])
        if not clash:
            return
    raise LimsError("could not draw free sample codes after 20 attempts")


def _insert_samples(session: Session, rows: list[dict]) -> list[int]:
    """Insert new samples; a code another writer took meanwhile is redrawn (PostgreSQL: the
    insert runs in a savepoint and is retried; SQLite: the write lock is held, no race)."""
    if not rows:
        return []
    for _attempt in range(5):
        _free_codes(session, rows)
        if session.connection().dialect.name == "sqlite":
            return _insert_ids(session, Sample.__table__, rows, "code")
        try:
            with session.begin_nested():
                return _insert_ids(session, Sample.__table__, rows, "code")
        except sa.exc.IntegrityError as exc:
            if "code" not in str(exc.orig):
                raise
    raise LimsError("sample codes kept colliding with another writer's; try again")


def _insert_ids(session: Session, table: sa.Table, rows: list[dict], key: str) -> list[int]:
    """Insert ``rows`` in one batch; their new ids in order, found by the unique column ``key``.

    (``INSERT … RETURNING`` for many rows degrades to one statement per row here, on SQLite
    and with psycopg, so ids come from SQLite's rowid order or a look-up by ``key``.)
    """
    if not rows:
        return []
    conn = session.connection()
    dialect = conn.dialect
    col = table.c[key]
    if dialect.name == "sqlite":
        bulk.sqlite_executemany(conn, table, rows)
        # SQLite gives rowid max+1 to each new row, and this transaction holds the write lock
        # since the first row: the ids are the last len(rows) ones. Checked at both ends.
        last = conn.exec_driver_sql(f"SELECT max(id) FROM {table.name}").scalar_one()
        first = last - len(rows) + 1
        ends = dict(session.execute(sa.select(table.c.id, col)
                                    .where(table.c.id.in_([first, last]))).all())
        if ends.get(first) == rows[0][key] and ends.get(last) == rows[-1][key]:
            return list(range(first, last + 1))
    else:  # PostgreSQL: COPY (still checked by constraints and triggers), then the ids
        _pg_copy(conn, table, rows)
        values = [r[key] for r in rows]
        got = dict(session.execute(sa.select(col, table.c.id).where(
            col == sa.any_(sa.bindparam("keys", values, type_=ARRAY(col.type))))).all())
        return [got[v] for v in values]
    ids: dict[str, int] = {}
    values = [r[key] for r in rows]
    for i in range(0, len(values), 500):
        ids.update(session.execute(sa.select(col, table.c.id)
                                   .where(col.in_(values[i:i + 500]))).all())
    return [ids[v] for v in values]


def _pg_copy(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """``COPY … FROM STDIN`` in the session's transaction; JSON columns as JSON text."""
    import json

    names = list(rows[0])
    json_cols = {i for i, n in enumerate(names) if isinstance(table.c[n].type, sa.JSON)}
    procs = [None if i in json_cols else table.c[n].type.bind_processor(conn.dialect)
             for i, n in enumerate(names)]
    import psycopg

    dbapi = conn.connection.driver_connection
    sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    try:
        with dbapi.cursor() as cur, cur.copy(sql) as copy:
            for r in rows:
                copy.write_row([json.dumps(r[n], ensure_ascii=False) if i in json_cols
                                else (procs[i](r[n]) if procs[i] else r[n])
                                for i, n in enumerate(names)])
    except psycopg.IntegrityError as exc:  # as SQLAlchemy would report it (callers retry)
        raise sa.exc.IntegrityError(sql, None, exc) from exc
