"""The calibration gate: what an instrument's calibration state was when it tested.

A result from an instrument whose last verification/calibration failed, whose due date has
passed, or that has no record at all is stored HELD: marked and kept out of pass rates until a
technician accepts it (with a reason) or voids it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from lims.models import CalibrationRecord, Instrument
from lims.models.enums import CalibrationKind, CalibrationState, ResultStatus
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


def state_at(records: list[CalibrationRecord], at: datetime) -> CalibrationState:
    """State given the instrument's gating records (newest first) at instant ``at``."""
    for r in records:
        if r.performed_at <= at:
            if r.outcome != "pass":
                return CalibrationState.FAILED
            if r.due_date is not None and local_date(at) > r.due_date:
                return CalibrationState.OVERDUE
            return CalibrationState.OK
    return CalibrationState.UNKNOWN


def status_for(state: CalibrationState) -> ResultStatus:
    return ResultStatus.HELD if state in HOLDING_STATES else ResultStatus.RECORDED


def instrument_state(session: Session, instrument: Instrument, at: datetime) -> CalibrationState:
    return state_at(latest_records(session, {instrument.id}).get(instrument.id, []), at)


def last_gating_time(session: Session) -> datetime | None:
    return session.exec(select(func.max(CalibrationRecord.performed_at))).one()
