"""Calibration records, daily QC and the due list, computed with the ``calibration`` package.

``record(...)`` stores one CalibrationRecord with every reading and the computed report; which
procedure computes it depends on the record kind and the instrument kind (see ``procedure_for``).
Verification and calibration records set the due date from the instrument's interval; these are
what the calibration gate (``lims.intake.gate``) reads. A daily-QC record also appends the
run's control value to the instrument's QC series, and Westgard rules on that series are part of
its outcome.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, select

from calibration import analyzer as cal_analyzer
from calibration import bp as cal_bp
from calibration import qc as cal_qc
from calibration import weighing as cal_weighing
from calibration.refdata import load_qc
from calibration.report import Check, Report
from lims.errors import InvalidInput, NotFound, RowError, ValidationFailed
from lims.files import attachments
from lims.intake import gate
from lims.models import CalibrationRecord, Instrument, QcControlValue
from lims.models.enums import CalibrationKind, CalibrationState, InstrumentKind
from lims.security import audit
from lims.security.auth import Actor, require
from lims.timeutil import local_date, local_tz, now, refuse_future

SCALE_KINDS = (InstrumentKind.BALANCE.value, InstrumentKind.PLATFORM_SCALE.value)
DEFAULT_CONTROL = "control ΔA0"


def instrument_by_serial(session: Session, serial_no: str) -> Instrument:
    inst = session.exec(select(Instrument).where(Instrument.serial_no == serial_no.strip())).first()
    if inst is None:
        raise NotFound(f"unknown instrument serial number {serial_no!r}")
    return inst


def procedure_for(kind: str, instrument_kind: str) -> str | None:
    """scale / bp / analyzer / daily_qc, or None when the outcome is entered by hand."""
    if kind == CalibrationKind.DAILY_QC.value:
        return "daily_qc"
    if instrument_kind in SCALE_KINDS:
        return "scale"
    if instrument_kind == InstrumentKind.BP_METER.value:
        return "bp"
    if instrument_kind == InstrumentKind.PESTICIDE_ANALYZER.value:
        return "analyzer"
    return None


def compute_report(procedure: str | None, readings: dict[str, Any], *,
                   instrument: dict[str, Any], qc_series: list[float] | None = None,
                   qc_baseline: list[float] | None = None, outcome: str | None = None) -> Report:
    """Run the procedure on the readings (ValueError on malformed readings)."""
    if procedure == "scale":
        spec = cal_weighing.parse_spec(readings.get("instrument") or {})
        data = cal_weighing.parse_readings({k: v for k, v in readings.items() if k != "instrument"})
        rep = cal_weighing.verify_scale(spec, data)
    elif procedure == "bp":
        rep = cal_bp.verify_bp(readings.get("points") or [], unit=readings.get("unit", "mmHg"),
                               in_service=bool(readings.get("in_service", False)),
                               mode=readings.get("mode"),
                               kind=readings.get("kind", "automated"), zero=readings.get("zero"))
    elif procedure == "analyzer":
        rep = cal_analyzer.verify_analyzer(readings)
    elif procedure == "daily_qc":
        rep = _daily_qc_report(readings, qc_series or [], qc_baseline)
    else:
        if outcome not in ("pass", "fail"):
            raise InvalidInput("outcome: this instrument kind has no computed procedure; give "
                               "outcome pass or fail")
        rep = Report("manual", {}, {"source": "technician's judgement", "edition": ""})
        rep.checks.append(Check("outcome entered by technician", outcome == "pass", outcome))
    rep.instrument = {**instrument, **rep.instrument}
    return rep


def control_values(readings: dict[str, Any]) -> dict[str, float]:
    """The control ΔA0 per channel from daily-QC readings ({"control_delta": x | {ch: x}})."""
    raw = readings.get("control_delta")
    if raw is None or raw == "" or raw == {}:
        raise InvalidInput("control_delta: missing (a number, or {channel: ΔA0})")
    items = raw.items() if isinstance(raw, dict) else [("1", raw)]
    out = {}
    for ch, v in items:
        try:
            out[str(ch)] = float(v)
        except (TypeError, ValueError):
            raise InvalidInput(f"control_delta[{ch}]: not a number: {v!r}") from None
    return out


def _daily_qc_report(readings: dict[str, Any], series: list[float],
                     base_values: list[float] | None) -> Report:
    rules = load_qc()
    values = control_values(readings)
    rep = Report("daily_qc", {}, rules.provenance.to_dict())
    for ch, v in values.items():
        c = cal_qc.control_check(v, rules)
        c.name = f"control ΔA0 channel {ch}"
        rep.checks.append(c)
    if len(values) > 1:
        rep.checks.append(cal_qc.channel_consistency(values, rules))
    run_value = sum(values.values()) / len(values)
    rep.instrument["run_value"] = run_value
    if base_values is not None and len(base_values) >= rules.baseline_min_values:
        base = cal_qc.baseline(base_values, rules)
        full = [*series, run_value]
        vs = cal_qc.westgard(full, base, rules)
        status = cal_qc.status_of_last(vs, len(full))
        last = [v.to_dict() for v in vs if len(full) - 1 in v.indices]
        rep.checks.append(Check("Westgard", status != "reject",
                                f"newest run: {status}" + (
                                    "; " + "; ".join(v["message"] for v in last) if last else ""),
                                {"baseline": base.to_dict(), "status": status, "violations": last}))
    return rep


def record(*, session: Session, actor: Actor, serial_no: str, kind: str,
           readings: dict[str, Any], performed_at: datetime | None = None,
           performed_by: str | None = None, standard: str = "", reference_equipment: str = "",
           notes: str = "", outcome: str | None = None, control: str = DEFAULT_CONTROL,
           certificate: bytes | None = None, certificate_name: str = "",
           ) -> CalibrationRecord:
    """Store a calibration record with its computed outcome and report (see module docstring);
    ``certificate`` is the uploaded certificate file (PDF, PNG or JPEG), attached to the record
    (``lims.files.attachments``); the record's ``certificate_*`` columns point at it."""
    require(actor, "calibration.record")
    inst = instrument_by_serial(session, serial_no)
    try:
        ck = CalibrationKind(kind)
    except ValueError:
        raise ValidationFailed([RowError("record", "kind", f"{kind!r} is not one of "
                                         f"{', '.join(k.value for k in CalibrationKind)}")],
                               "calibration record") from None
    at = performed_at or now()
    if at.tzinfo is not None:
        refuse_future(at, "performed_at", "record")
    if at.tzinfo is None:
        raise ValidationFailed([RowError("record", "performed_at", "timestamp without time zone")],
                               "calibration record")
    if certificate is not None:
        attachments.check(certificate, certificate_name, field="certificate")
    procedure = procedure_for(ck.value, inst.kind)
    series, base = _qc_inputs(session, inst.id, control) if procedure == "daily_qc" else ([], None)
    try:
        rep = compute_report(procedure, readings,
                             instrument={"serial_no": inst.serial_no, "model": inst.model,
                                         "kind": inst.kind},
                             qc_series=series, qc_baseline=base, outcome=outcome)
    except ValueError as exc:
        raise ValidationFailed([RowError("readings", procedure or "outcome", str(exc))],
                               f"calibration record for {inst.serial_no}") from None
    due = None
    if ck.value in gate.GATING_KINDS:
        due = local_date(at) + timedelta(days=inst.calibration_interval_days)
    rec = CalibrationRecord(
        instrument_id=inst.id, kind=ck.value, performed_at=at,
        performed_by=performed_by or actor.username,
        standard=standard or rep.reference.get("edition", ""),
        reference_equipment=reference_equipment, readings=readings, outcome=rep.outcome,
        report=rep.to_dict(), due_date=due, notes=notes)
    session.add(rec)
    session.flush()
    if certificate:
        stored = attachments.attach(session, actor, "calibration", rec.id, certificate_name,
                                    certificate, field="certificate")
        rec.certificate_file = attachments.relative_path(stored.sha256)
        rec.certificate_sha256, rec.certificate_type = stored.sha256, stored.media_type
        session.flush()
    if procedure == "daily_qc" and rec.outcome != "pass":   # Westgard rejected the run:
        gate.hold_day_after_qc(session, inst, local_date(at))  # the day's results wait
    if procedure == "daily_qc":
        session.add(QcControlValue(instrument_id=inst.id, control=control, measured_at=at,
                                   value=rep.instrument["run_value"],
                                   calibration_record_id=rec.id, recorded_by=rec.performed_by))
    audit.record(session=session, actor=actor, action="calibration.record",
                 entity="calibration_record", entity_id=rec.id,
                 new={"instrument": inst.serial_no, "kind": rec.kind, "outcome": rec.outcome,
                      "performed_at": at, "due_date": due,
                      "certificate_sha256": rec.certificate_sha256 or None})
    session.flush()
    return rec


# ------------------------------------------------------------------------------- QC series

def _series(session: Session, instrument_id: int, control: str | None,
            channel: str | None = None) -> list[QcControlValue]:
    q = select(QcControlValue).where(QcControlValue.instrument_id == instrument_id)
    if control is not None:
        q = q.where(QcControlValue.control == control)
    if channel is not None:
        q = q.where(QcControlValue.channel == channel)
    return list(session.exec(q.order_by(QcControlValue.measured_at, QcControlValue.id)))


def _split(rows: list[QcControlValue]) -> tuple[list[QcControlValue], list[QcControlValue]]:
    """(baseline, evaluated): flagged baseline values, else the first N values."""
    flagged = [r for r in rows if r.baseline]
    if flagged:
        return flagged, [r for r in rows if not r.baseline]
    n = load_qc().baseline_min_values
    return rows[:n], rows[n:]


def _qc_inputs(session: Session, instrument_id: int, control: str):
    base, rest = _split(_series(session, instrument_id, control))
    return [r.value for r in rest], [r.value for r in base]


def add_qc_values(*, session: Session, actor: Actor, serial_no: str,
                  values: list[tuple[datetime, float]], control: str = DEFAULT_CONTROL,
                  channel: str | None = None, baseline: bool = False) -> int:
    """Append control values (measured_at, value) to an instrument's QC series."""
    require(actor, "calibration.record")
    inst = instrument_by_serial(session, serial_no)
    errors = []
    for i, (at, v) in enumerate(values, start=1):
        if at.tzinfo is None:
            errors.append(RowError(i, "measured_at", "timestamp without time zone"))
        if not isinstance(v, int | float) or v != v:
            errors.append(RowError(i, "value", f"not a number: {v!r}"))
    if errors:
        raise ValidationFailed(errors, "QC values")
    session.add_all([QcControlValue(instrument_id=inst.id, control=control, channel=channel,
                                    measured_at=at, value=float(v), baseline=baseline,
                                    recorded_by=actor.username) for at, v in values])
    audit.record(session=session, actor=actor, action="qc.values", entity="instrument",
                 entity_id=inst.id, new={"control": control, "count": len(values),
                                         "baseline": baseline})
    session.flush()
    return len(values)


def qc_check(*, session: Session, serial_no: str, control: str | None = None,
             channel: str | None = None) -> dict[str, Any]:
    """Levey–Jennings data and Westgard violations on the instrument's control series."""
    inst = instrument_by_serial(session, serial_no)
    rows = _series(session, inst.id, control, channel)
    if control is None and rows:
        controls = sorted({r.control for r in rows})
        if len(controls) > 1:
            raise ValidationFailed([RowError(serial_no, "control", "several control series ("
                                             + ", ".join(controls) + "): name one")], "QC check")
        control = controls[0]
    if not rows:
        raise NotFound(f"instrument {inst.serial_no} has no QC control values")
    base_rows, rest = _split(rows)
    rules = load_qc()
    if len(base_rows) < rules.baseline_min_values:
        raise InvalidInput(f"instrument {inst.serial_no}: {len(base_rows)} control value(s) so "
                           f"far; the Westgard rules need a baseline of "
                           f"{rules.baseline_min_values}")
    base = cal_qc.baseline([r.value for r in base_rows], rules)
    labels = [local_date(r.measured_at).isoformat() + f" (#{r.id})" for r in rest]
    values = [r.value for r in rest]
    vs = cal_qc.westgard(values, base, rules, labels=labels) if values else []
    return {"instrument": inst.serial_no, "control": control, "channel": channel,
            "reference": rules.provenance.to_dict(),
            "status": cal_qc.status_of_last(vs, len(values)) if values else "ok",
            "evaluated": len(values), "violations": [v.to_dict() for v in vs],
            "chart": cal_qc.levey_jennings(values, base, labels)}


# ------------------------------------------------------------------------------- due list

def due(*, session: Session, within_days: int = 30, on: date | None = None) -> list[dict]:
    """Active instruments that are failed, never calibrated, overdue or due within the window."""
    today = on or local_date(now())
    instruments = list(session.exec(select(Instrument).where(Instrument.active)
                                    .order_by(Instrument.serial_no)))
    records = gate.latest_records(session, {i.id for i in instruments})
    at = now() if on is None else datetime.combine(on, time(23, 59, 59), tzinfo=local_tz())
    out = []
    for i in instruments:
        recs = records.get(i.id, [])
        state = gate.state_at(recs, at)
        last = recs[0] if recs else None
        due_date = last.due_date if last else None
        days_left = (due_date - today).days if due_date else None
        if state is CalibrationState.OK and (days_left is None or days_left > within_days):
            continue
        out.append({"serial_no": i.serial_no, "model": i.model, "kind": i.kind,
                    "location": i.location, "state": state.value,
                    "last_performed_at": last.performed_at if last else None,
                    "last_outcome": last.outcome if last else None, "due_date": due_date,
                    "days_left": days_left, "interval_days": i.calibration_interval_days})
    order = {"failed": 0, "overdue": 1, "unknown": 2, "ok": 3}
    out.sort(key=lambda r: (order.get(r["state"], 9), r["days_left"] if r["days_left"] is not None
                            else -10**6, r["serial_no"]))
    return out
