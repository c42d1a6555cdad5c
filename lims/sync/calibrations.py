"""Calibration records go up before results, so the central gate sees what the station saw.

The calibration gate (``lims.intake.gate``) holds a result of an instrument without a valid
verification or calibration; without the station's records the central server would hold
results the station did not. So a push first sends the station's calibration records (every
kind: verification, calibration, daily QC …) after its cursor (``SyncPeer
.last_pushed_calibration_id``) as ``POST /api/v1/calibrations``, then its results.

On the server each record is stored through the metrology service
(``lims.metrology.calibration.record``, as ``station:NAME`` with the lab technician's role: it
computes the outcome and due date again and writes its audit event), once: the natural key is
(instrument serial number, kind, performed_at); a record with that key answers ``"duplicate"``.
A record the server refuses (an instrument it does not know, readings its procedure rejects) is
answered ``"refused"`` with the reason, reported by the push, and not sent again: results of that
instrument may then be held there (``lims review`` on the server). A record's files (its
certificate scan) go up afterwards as ``attachment.add`` changes named by this key
(``lims.sync.changes``, ``lims.sync.files``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from lims.errors import LimsError
from lims.metrology import calibration
from lims.models import CalibrationRecord, Instrument, QcControlValue, SyncPeer
from lims.models.enums import Role
from lims.security.auth import Actor
from lims.sync.http import Central
from lims.timeutil import now

BATCH = 200


def _item(session: Session, rec: CalibrationRecord) -> dict[str, Any]:
    inst = session.get(Instrument, rec.instrument_id)
    control = session.exec(select(QcControlValue.control).where(
        QcControlValue.calibration_record_id == rec.id)).first()
    item = {"id": rec.id, "instrument": inst.serial_no if inst else "", "kind": rec.kind,
            "performed_at": rec.performed_at.isoformat(), "performed_by": rec.performed_by,
            "standard": rec.standard, "reference_equipment": rec.reference_equipment,
            "readings": rec.readings or {}, "outcome": rec.outcome, "notes": rec.notes}
    if control:
        item["control"] = control
    return item


def push_calibrations(session: Session, central: Central, row: SyncPeer,
                      counts: dict[str, int]) -> None:
    """Send the records after the cursor, in id order; the cursor moves after each answer."""
    counts.setdefault("refused", 0)
    counts.setdefault("messages", [])   # type: ignore[arg-type]
    while True:
        recs = list(session.exec(select(CalibrationRecord)
                                 .where(CalibrationRecord.id > row.last_pushed_calibration_id)
                                 .order_by(CalibrationRecord.id).limit(BATCH)))
        if not recs:
            return
        answer = central.call("POST", "/calibrations",
                              {"records": [_item(session, r) for r in recs]})
        for st in answer.get("records") or []:
            if st.get("status") == "refused":
                counts["refused"] += 1
                counts["messages"].append(f"record {st.get('id')}: {st.get('message')}")
        counts["sent"] += len(recs)
        counts["stored"] += int(answer.get("stored", 0))
        counts["duplicates"] += int(answer.get("duplicates", 0))
        row.last_pushed_calibration_id = recs[-1].id
        row.pushed_at = now()
        session.add(row)
        session.commit()


def _existing(session: Session, item: dict[str, Any], instrument_id: int) -> bool:
    at = calibration_time(item)
    return session.exec(select(CalibrationRecord.id).where(
        CalibrationRecord.instrument_id == instrument_id, CalibrationRecord.kind == item["kind"],
        CalibrationRecord.performed_at == at)).first() is not None


def calibration_time(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["performed_at"])


def apply_calibrations(*, session: Session, station: str,
                       records: list[dict[str, Any]]) -> list[dict[str, str]]:
    """On the server, in the caller's transaction: one answer per record, ``"stored"``,
    ``"duplicate"`` or ``"refused"`` (with field and message); each in a savepoint."""
    actor = Actor(f"station:{station}", Role.LAB_TECHNICIAN)
    out: list[dict[str, str]] = []
    for item in records:
        try:
            with session.begin_nested():
                inst = calibration.instrument_by_serial(session, item["instrument"])
                if _existing(session, item, inst.id):
                    out.append({"status": "duplicate"})
                    continue
                calibration.record(
                    session=session, actor=actor, serial_no=item["instrument"],
                    kind=item["kind"], readings=item.get("readings") or {},
                    performed_at=calibration_time(item),
                    performed_by=item.get("performed_by") or None,
                    standard=item.get("standard") or "",
                    reference_equipment=item.get("reference_equipment") or "",
                    notes=item.get("notes") or "", outcome=item.get("outcome"),
                    **({"control": item["control"]} if item.get("control") else {}))
        except LimsError as exc:
            out.append({"status": "refused", "field": getattr(exc, "field", "") or "record",
                        "message": f"{item['instrument']} {item['kind']} "
                                   f"{item['performed_at']}: {exc}"})
            continue
        out.append({"status": "stored"})
    return out
