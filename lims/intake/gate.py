"""The calibration gate: what an instrument's calibration state was when it tested.

A result from an instrument whose last verification/calibration failed, whose due date has
passed, or that has no record at all is stored HELD: marked and kept out of pass rates until a
technician accepts it (with a reason) or voids it.

The QC gate (issue 16): a daily QC run that Westgard rejected holds that instrument's results of
the day until reviewed — the ones stored afterwards (``apply_daily_qc``) and those already stored
that day (``hold_day_after_qc``, called when the rejected run is recorded).

The kit gate (issue 14): a reading names the kit lot it was tested with (``ReadingIn.kit_lot``);
an unknown lot refuses the batch (``check_kit_lots``), a lot past its expiry date on the test
day holds the result for review (``apply_kit_lot``) and the result records the lot either way.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from lims.errors import InvalidInput, RowError
from lims.intake.readings import ReadingIn
from lims.models import CalibrationRecord, Instrument
from lims.models.enums import CalibrationKind, CalibrationState, ResultStatus
from lims.storage.bulk import among
from lims.timeutil import local_date

#: Record kinds that establish (or withdraw) an instrument's fitness for use.
GATING_KINDS = (CalibrationKind.VERIFICATION.value, CalibrationKind.CALIBRATION.value)

HOLDING_STATES = frozenset({CalibrationState.OVERDUE, CalibrationState.FAILED,
                            CalibrationState.UNKNOWN})


def latest_records(session: Session, instrument_ids: set[int] | None = None,
                   ) -> dict[int, list[CalibrationRecord]]:
    """Gating records per instrument, newest first."""
    q = select(CalibrationRecord).where(CalibrationRecord.kind.in_(GATING_KINDS))
    if instrument_ids is not None:
        if not instrument_ids:
            return {}
        q = q.where(CalibrationRecord.instrument_id.in_(instrument_ids))
    out: dict[int, list[CalibrationRecord]] = {}
    for r in session.exec(q.order_by(CalibrationRecord.performed_at.desc())):
        out.setdefault(r.instrument_id, []).append(r)
    return out


def state_at(records: list[CalibrationRecord], at: datetime,
             tz: ZoneInfo | None = None) -> CalibrationState:
    """State given the instrument's gating records (newest first) at instant ``at`` (due dates
    are days in ``tz``, default the configured zone)."""
    for r in records:
        if r.performed_at <= at:
            if r.outcome != "pass":
                return CalibrationState.FAILED
            if r.due_date is not None and local_date(at, tz) > r.due_date:
                return CalibrationState.OVERDUE
            return CalibrationState.OK
    return CalibrationState.UNKNOWN


def status_for(state: CalibrationState) -> ResultStatus:
    return ResultStatus.HELD if state in HOLDING_STATES else ResultStatus.RECORDED


def instrument_state(session: Session, instrument: Instrument, at: datetime) -> CalibrationState:
    return state_at(latest_records(session, {instrument.id}).get(instrument.id, []), at)


def last_gating_time(session: Session) -> datetime | None:
    return session.exec(select(func.max(CalibrationRecord.performed_at))).one()


# -- the kit gate -----------------------------------------------------------------------------

_LOTS = "kit_lots"   # session.info memo: (lot code, method) → (lot id, lot, expiry) or None


def check_kit_lots(session: Session, readings: list[ReadingIn], errors: list[RowError]) -> None:
    """Every kit lot named is known (else one ``RowError`` per reading, field ``kit_lot``);
    the lots found are kept for ``apply_kit_lot`` in this session."""
    from lims.masterdata.kits import find_lot

    memo: dict[tuple[str, str], tuple[int, str, date] | str] = {}
    session.info[_LOTS] = memo
    for idx, r in enumerate(readings):
        if not r.kit_lot or not r.kit_lot.strip():
            continue
        key = (r.kit_lot.strip(), r.method)
        if key not in memo:
            try:
                lot = find_lot(session, key[0], r.method)
            except InvalidInput as exc:   # what is wrong with the lot named
                memo[key] = str(exc).removeprefix("kit_lot: ")
            else:
                memo[key] = (lot.id, lot.lot, lot.expires_on)
        if isinstance(memo[key], str):
            errors.append(RowError(r.row if r.row is not None else idx, "kit_lot", memo[key]))


def apply_kit_lot(session: Session, row: dict[str, Any], reading: ReadingIn) -> None:
    """Record the reading's kit lot on its result row (``kit_lot_id``, None without one) and
    hold the result when the lot had expired on the test day (reason in English and Chinese)."""
    row["kit_lot_id"] = None
    if not reading.kit_lot or not reading.kit_lot.strip():
        return
    key = (reading.kit_lot.strip(), reading.method)
    found = session.info.get(_LOTS, {}).get(key)
    if not isinstance(found, tuple):   # not checked by check_kit_lots in this session: look it up now
        from lims.masterdata.kits import find_lot

        lot = find_lot(session, key[0], reading.method)
        found = (lot.id, lot.lot, lot.expires_on)
    lot_id, code, expires_on = found
    row["kit_lot_id"] = lot_id
    if local_date(reading.tested_at) > expires_on:
        row["status"] = ResultStatus.HELD.value
        row.setdefault("verdict_reasons", []).append(
            f"held: kit lot {code} expired on {expires_on.isoformat()} "
            f"(试剂批号 {code} 已于 {expires_on.isoformat()} 过期)")


# -- the release gate (issue 19) --------------------------------------------------------------

#: the reason a result of a method that requires second-person release is held until released
RELEASE_HOLD = "held: awaits second-person release (待第二人签发)"


def apply_release(row: dict[str, Any], method: Any) -> None:
    """Hold the result of a method that requires second-person release (``lims.lab.release``):
    it counts, shows on public pages and opens a case only once a second user released it."""
    if getattr(method, "requires_release", False):
        row["status"] = ResultStatus.HELD.value
        row.setdefault("verdict_reasons", []).append(RELEASE_HOLD)


# -- the QC gate ------------------------------------------------------------------------------

_QC = "qc_rejected"   # session.info memo: (instrument id, local day) → (serial, time) or None


def _day_bounds(day: date, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    from lims.timeutil import local_tz

    tz = tz or local_tz()
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start, start + timedelta(days=1)


def preload_daily_qc(session: Session, pairs: set[tuple[int, date]], tz: ZoneInfo) -> None:
    """Fill ``rejected_qc``'s memo for every (instrument, local day in ``tz``) pair of a batch
    with one query, instead of one query per pair (the same values: the first rejected daily QC
    of that day, else None)."""
    memo: dict = session.info.setdefault(_QC, {})
    todo = pairs - set(memo)
    if not todo:
        return
    cr = CalibrationRecord
    start = _day_bounds(min(d for _i, d in todo), tz)[0]
    end = _day_bounds(max(d for _i, d in todo), tz)[1]
    ids = sorted({i for i, _d in todo})
    first: dict[tuple, Any] = {}
    for i in range(0, len(ids), 500):
        for iid, at in session.exec(
                select(cr.instrument_id, cr.performed_at).where(
                    among(session, cr.instrument_id, ids[i:i + 500]),
                    cr.kind == CalibrationKind.DAILY_QC.value, cr.outcome != "pass",
                    cr.performed_at >= start, cr.performed_at < end)
                .order_by(cr.performed_at)):
            first.setdefault((iid, local_date(at, tz)), at)
    for key in todo:
        memo[key] = first.get(key)


def rejected_qc(session: Session, instrument_id: int, day: date) -> datetime | None:
    """When the instrument's daily QC of ``day`` (local) was rejected, else None."""
    memo: dict = session.info.setdefault(_QC, {})
    key = (instrument_id, day)
    if key not in memo:
        start, end = _day_bounds(day)
        memo[key] = session.exec(
            select(CalibrationRecord.performed_at).where(
                CalibrationRecord.instrument_id == instrument_id,
                CalibrationRecord.kind == CalibrationKind.DAILY_QC.value,
                CalibrationRecord.outcome != "pass",
                CalibrationRecord.performed_at >= start, CalibrationRecord.performed_at < end)
            .order_by(CalibrationRecord.performed_at)).first()
    return memo[key]


def qc_reason(serial: str, day: date) -> str:
    return (f"held: the daily QC of {serial} on {day.isoformat()} was rejected (Westgard) "
            f"(仪器 {serial} {day.isoformat()} 当日质控失控,结果待复核)")


def apply_daily_qc(session: Session, row: dict[str, Any], instrument: Instrument | None,
                   tested_at: datetime) -> None:
    """Hold the result when its instrument's daily QC of that day was rejected (the day: the
    row's ``local_date`` when it has one)."""
    if instrument is None:
        return
    day = row.get("local_date") or local_date(tested_at)
    if rejected_qc(session, instrument.id, day) is not None:
        row["status"] = ResultStatus.HELD.value
        row.setdefault("verdict_reasons", []).append(qc_reason(instrument.serial_no, day))


def hold_day_after_qc(session: Session, instrument: Instrument, day: date) -> list[int]:
    """A rejected daily QC was just recorded: hold the instrument's results of that day that
    count (status recorded), with the reason; rollups follow. Results of a file import not
    published yet will be published held (``staging.hold_for_qc``). Returns the held ids."""
    from lims.intake import rollups
    from lims.models import TestResult

    session.info.pop(_QC, None)
    start, end = _day_bounds(day)
    rows = list(session.exec(select(TestResult).where(
        TestResult.instrument_id == instrument.id,
        TestResult.status == ResultStatus.RECORDED.value,
        TestResult.tested_at >= start, TestResult.tested_at < end)))
    keys = set()
    for tr in rows:
        tr.status = ResultStatus.HELD.value
        tr.verdict_reasons = [*tr.verdict_reasons, qc_reason(instrument.serial_no, day)]
        session.add(tr)
        keys.add((tr.market_id, tr.week_start))
    session.flush()
    from lims.intake import staging
    from lims.security import seals  # status is sealed content (issue 18)
    from lims.security.auth import SYSTEM

    # results of a file import not published yet: they will be published held
    staged = staging.hold_for_qc(session, instrument.id, start, end,
                                 qc_reason(instrument.serial_no, day))
    seals.reseal(session, SYSTEM, [tr.id for tr in rows] + staged,
                 reason=qc_reason(instrument.serial_no, day))
    rollups.refresh(session=session, keys=keys)
    return [tr.id for tr in rows] + staged
