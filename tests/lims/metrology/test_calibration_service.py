"""Calibration records, daily QC series, the due list, outreach metering and certificates."""

import copy
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from lims.errors import LimsError, NotFound, PermissionDenied, ValidationFailed
from lims.intake import gate
from lims.metrology import calibration as cal
from lims.metrology import certificate, metering
from lims.models import (
    AuditEvent,
    CalibrationRecord,
    Instrument,
    MeterCheck,
    OutreachEvent,
    QcControlValue,
)
from lims.models.enums import Role
from lims.security.auth import Actor
from tests.conftest import TZ
from tests.lims.metrology.calibration_data import ANALYZER, BP, SCALE

T0 = datetime(2026, 5, 6, 9, 0, tzinfo=TZ)
TECH = Actor("wang.tech", Role.LAB_TECHNICIAN)


@pytest.fixture
def insts(session):
    session.add_all([
        Instrument(serial_no="AN-1", model="RP-12", kind="pesticide_analyzer", driver="profile",
                   calibration_interval_days=365),
        Instrument(serial_no="SC-1", model="TCS-15", kind="platform_scale", driver="ohaus",
                   calibration_interval_days=180),
        Instrument(serial_no="BP-1", model="HEM-7121", kind="bp_meter", driver="profile"),
        Instrument(serial_no="CR-1", model="GR-1", kind="card_reader", driver="profile"),
    ])
    session.commit()
    return session


def test_scale_verification_record_sets_due_date_and_audit(insts):
    s = insts
    rec = cal.record(session=s, actor=TECH, serial_no="SC-1", kind="verification",
                     readings=SCALE, performed_at=T0, reference_equipment="M1 weights set 12")
    s.commit()
    assert rec.outcome == "pass" and rec.due_date == date(2026, 5, 6) + timedelta(days=180)
    assert rec.standard.startswith("OIML R76")
    assert rec.report["kind"] == "scale_verification" and rec.readings == SCALE
    ev = s.exec(select(AuditEvent).where(AuditEvent.entity == "calibration_record")).one()
    assert ev.action == "calibration.record" and ev.new["outcome"] == "pass"
    inst = s.exec(select(Instrument).where(Instrument.serial_no == "SC-1")).one()
    assert gate.instrument_state(s, inst, T0 + timedelta(days=10)).value == "ok"
    assert gate.instrument_state(s, inst, T0 + timedelta(days=200)).value == "overdue"


def test_failed_verification_makes_the_gate_fail(insts):
    s = insts
    bad = copy.deepcopy(SCALE)
    bad["weighing"][4]["indication"] = 7510   # 7 500 g: error 10 g > 1 e = 5 g
    rec = cal.record(session=s, actor=TECH, serial_no="SC-1", kind="verification",
                     readings=bad, performed_at=T0)
    assert rec.outcome == "fail"
    failed = [c for c in rec.report["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["weighing #5 at 7500 g"]
    inst = s.get(Instrument, rec.instrument_id)
    assert gate.instrument_state(s, inst, T0 + timedelta(days=1)).value == "failed"


def test_analyzer_bp_and_manual_records(insts):
    s = insts
    assert cal.record(session=s, actor=TECH, serial_no="AN-1", kind="calibration",
                      readings=ANALYZER, performed_at=T0).outcome == "pass"
    assert cal.record(session=s, actor=TECH, serial_no="BP-1", kind="verification",
                      readings=BP, performed_at=T0).outcome == "pass"
    rec = cal.record(session=s, actor=TECH, serial_no="CR-1", kind="calibration",
                     readings={"note": "vendor test strip"}, outcome="fail", performed_at=T0)
    assert rec.outcome == "fail"
    with pytest.raises(ValidationFailed, match="outcome"):
        cal.record(session=s, actor=TECH, serial_no="CR-1", kind="calibration", readings={})


def test_bad_input_writes_nothing(insts):
    s = insts
    with pytest.raises(ValidationFailed, match="weighing #1: indication is not a number"):
        cal.record(session=s, actor=TECH, serial_no="SC-1", kind="verification",
                   readings={**SCALE, "weighing": [{"load": 0, "indication": "zero"}]})
    with pytest.raises(ValidationFailed, match="kind"):
        cal.record(session=s, actor=TECH, serial_no="SC-1", kind="tuneup", readings=SCALE)
    with pytest.raises(NotFound, match="SC-9"):
        cal.record(session=s, actor=TECH, serial_no="SC-9", kind="verification", readings=SCALE)
    with pytest.raises(PermissionDenied):
        cal.record(session=s, actor=Actor("boss", Role.MANAGER), serial_no="SC-1",
                   kind="verification", readings=SCALE)
    assert s.exec(select(CalibrationRecord)).all() == []


def test_due_list(insts):
    s = insts
    cal.record(session=s, actor=TECH, serial_no="SC-1", kind="verification", readings=SCALE,
               performed_at=T0)                                          # due 2026-11-02
    cal.record(session=s, actor=TECH, serial_no="AN-1", kind="calibration", readings=ANALYZER,
               performed_at=T0 - timedelta(days=400))                    # overdue
    s.commit()
    rows = cal.due(session=s, within_days=30, on=date(2026, 10, 10))
    states = {r["serial_no"]: (r["state"], r["days_left"]) for r in rows}
    assert states["SC-1"] == ("ok", 23)
    assert states["AN-1"][0] == "overdue" and states["AN-1"][1] < 0
    assert states["BP-1"] == ("unknown", None) and "CR-1" in states
    rows = cal.due(session=s, within_days=7, on=date(2026, 10, 10))
    assert "SC-1" not in {r["serial_no"] for r in rows}


def _baseline(s, values):
    cal.add_qc_values(session=s, actor=TECH, serial_no="AN-1", baseline=True,
                      values=[(T0 - timedelta(days=30 - i), v) for i, v in enumerate(values)])


def test_daily_qc_records_feed_westgard(insts):
    s = insts
    _baseline(s, [0.50, 0.52, 0.48, 0.51, 0.49, 0.50, 0.52, 0.48, 0.51, 0.49])  # mean .50
    sd = 0.0149071  # sample SD of the baseline above
    ok = cal.record(session=s, actor=TECH, serial_no="AN-1", kind="daily_qc", performed_at=T0,
                    readings={"control_delta": {"1": 0.50, "2": 0.51}})
    assert ok.outcome == "pass" and ok.due_date is None
    # two runs beyond +2 SD in a row: 2-2s rejects the second
    high = round(0.50 + 2.5 * sd, 4)
    r1 = cal.record(session=s, actor=TECH, serial_no="AN-1", kind="daily_qc",
                    performed_at=T0 + timedelta(days=1), readings={"control_delta": high})
    assert r1.outcome == "pass"   # 1-2s is only a warning
    r2 = cal.record(session=s, actor=TECH, serial_no="AN-1", kind="daily_qc",
                    performed_at=T0 + timedelta(days=2), readings={"control_delta": high})
    assert r2.outcome == "fail"
    west = [c for c in r2.report["checks"] if c["name"] == "Westgard"][0]
    assert "2-2s" in west["message"]
    s.commit()
    res = cal.qc_check(session=s, serial_no="AN-1")
    assert res["status"] == "reject" and res["evaluated"] == 3
    rules = {v["rule"] for v in res["violations"]}
    assert rules == {"1-2s", "2-2s"}
    assert len(s.exec(select(QcControlValue)).all()) == 13
    # control below minimum and channels apart
    bad = cal.record(session=s, actor=TECH, serial_no="AN-1", kind="daily_qc",
                     performed_at=T0 + timedelta(days=3),
                     readings={"control_delta": {"1": 0.29, "2": 0.40}})
    names = {c["name"] for c in bad.report["checks"] if not c["passed"]}
    assert {"control ΔA0 channel 1", "channel consistency"} <= names


def test_qc_check_without_values(insts):
    with pytest.raises(NotFound, match="no QC control values"):
        cal.qc_check(session=insts, serial_no="AN-1")


@pytest.fixture
def event(insts):
    ev = OutreachEvent(name="进社区 计量服务", kind="community", starts_at=T0)
    insts.add(ev)
    insts.commit()
    return ev


def test_outreach_metering_counts_per_event(insts, event):
    s = insts
    body = {"instrument": {"max": 150000, "e": 100}, "weighing": [
        {"load": 20000, "indication": 20100}, {"load": 60000, "indication": 60000}]}
    # class IIII by default, in service: 200 e = 20 kg → 2 × 1 e = 200 g; 100 g error passes
    a = metering.record_check(session=s, actor=TECH, event_id=event.id, kind="body_scale",
                              make="Xiangshan", readings=body, checked_at=T0)
    assert a.outcome == "pass"
    assert a.report["reference"]["class_default"] == {"class": "IIII", "confirmed": False}
    body_bad = copy.deepcopy(body)
    body_bad["weighing"][1]["indication"] = 60400  # 600 e: 2 × 1.5 e = 300 g; 400 g fails
    assert metering.record_check(session=s, actor=TECH, event_id=event.id, kind="body_scale",
                                 readings=body_bad, checked_at=T0).outcome == "fail"
    assert metering.record_check(session=s, actor=TECH, event_id=event.id, kind="bp_meter",
                                 readings=BP, checked_at=T0).outcome == "pass"
    s.commit()
    (row,) = metering.counts_per_event(session=s)
    assert (row["checked"], row["passed"], row["failed"]) == (3, 2, 1)
    assert row["by_kind"]["body_scale"] == {"checked": 2, "passed": 1, "failed": 1}
    assert row["by_kind"]["bp_meter"] == {"checked": 1, "passed": 1, "failed": 0}
    with pytest.raises(ValidationFailed, match="kind"):
        metering.record_check(session=s, actor=TECH, event_id=event.id, kind="thermometer",
                              readings={})
    with pytest.raises(NotFound):
        metering.record_check(session=s, actor=TECH, event_id=9999, kind="bp_meter", readings=BP)
    assert len(s.exec(select(MeterCheck)).all()) == 3


def test_certificate_pdf(insts, tmp_path):
    s = insts
    rec = cal.record(session=s, actor=TECH, serial_no="SC-1", kind="verification",
                     readings=SCALE, performed_at=T0)
    s.commit()
    cert = certificate.write_certificate(session=s, record_id=rec.id, out=tmp_path / "c.pdf")
    data = cert.path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000
    assert cert.cjk == (certificate.find_cjk_font() is not None)
    bad = copy.deepcopy(SCALE)
    bad["repeatability"] = []
    failed = cal.record(session=s, actor=TECH, serial_no="SC-1", kind="verification",
                        readings=bad, performed_at=T0)
    with pytest.raises(LimsError, match="failed"):
        certificate.write_certificate(session=s, record_id=failed.id, out=tmp_path / "f.pdf")
    assert not (tmp_path / "f.pdf").exists()


def test_certificate_falls_back_to_english_without_cjk_font(insts, tmp_path):
    s = insts
    rec = cal.record(session=s, actor=TECH, serial_no="SC-1", kind="verification",
                     readings=SCALE, performed_at=T0)
    cert = certificate.write_certificate(session=s, record_id=rec.id, out=tmp_path / "en.pdf",
                                         font_finder=lambda: None)
    assert not cert.cjk and "English-only" in cert.warning
    assert cert.path.read_bytes().startswith(b"%PDF")
    with pytest.raises(LimsError, match="does not exist"):
        certificate.write_certificate(session=s, record_id=rec.id, out=tmp_path / "x.pdf",
                                      font_file=tmp_path / "missing.ttf")


def test_bp_record_modes_and_units_issue16():
    # +3.9 mmHg (0.52 kPa) at 100 mmHg: passes in service and at subsequent verification in
    # either unit; the initial limit (±3 mmHg) refuses it
    kpa = 7.500615758
    pts_kpa = [{"reference": r / kpa, "indicated": (r + (3.9 if r == 100 else 0)) / kpa}
               for r in (0, 100, 200)]
    for mode, ok in (("in_service", True), ("subsequent", True), ("initial", False)):
        rep = cal.compute_report("bp", {"points": pts_kpa, "unit": "kPa", "mode": mode},
                                 instrument={})
        assert rep.passed is ok, (mode, [c.message for c in rep.failures()])
        assert rep.reference["mode"] == mode and rep.reference["mpe_confirmed"] is False


def test_scale_record_in_kg_issue16():
    readings = {"instrument": {"max": 30, "e": 0.01, "unit": "kg"},
                "weighing": [{"load": 0, "indication": 0}]}
    rep = cal.compute_report("scale", readings, instrument={})
    (cls,) = [c for c in rep.checks if c.name == "accuracy class"]
    assert cls.passed and rep.instrument["class"] == "III", cls.message


# issue 16: a household mercury or aneroid meter is judged by JJG 270-2008, not JJG 692-2010
def test_outreach_bp_meter_kind_has_its_own_regulation(insts, event):
    s = insts
    mmhg = 7.500615758

    def readings(kind, err_mmhg, **extra):
        return {"unit": "kPa", "kind": kind, **extra, "points": [
            {"reference": r / mmhg, "indicated": (r + (err_mmhg if r == 100 else 0)) / mmhg}
            for r in (0, 100, 200)]}

    for kind, extra in (("mercury", {"zero": 0.1}), ("aneroid", {})):
        ok = metering.record_check(session=s, actor=TECH, event_id=event.id, kind="bp_meter",
                                   readings=readings(kind, 3.7, **extra), checked_at=T0)
        assert ok.outcome == "pass", ok.report
        assert ok.report["reference"]["regulation_code"] == "JJG 270-2008"
        bad = metering.record_check(session=s, actor=TECH, event_id=event.id, kind="bp_meter",
                                    readings=readings(kind, 3.8, **extra), checked_at=T0)
        assert bad.outcome == "fail"
    auto = metering.record_check(session=s, actor=TECH, event_id=event.id, kind="bp_meter",
                                 readings=readings("automated", 3.9), checked_at=T0)
    assert auto.outcome == "pass" and auto.report["reference"]["regulation_code"] == "JJG 692-2010"
    with pytest.raises(ValidationFailed, match="kind 'wrist' must be one of"):
        metering.record_check(session=s, actor=TECH, event_id=event.id, kind="bp_meter",
                              readings=readings("wrist", 0), checked_at=T0)
