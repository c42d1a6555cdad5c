"""`lims metrology|calibration|qc|review|metering …`: output, --json and exit codes."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from lims.cli import app
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import AuditEvent, CalibrationRecord, Instrument, Market, OutreachEvent
from lims.security.auth import SYSTEM
from lims.storage.engine import make_engine
from lims.timeutil import now
from tests.conftest import TZ
from tests.lims.metrology.calibration_data import ANALYZER, BP, SCALE

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return p


# ------------------------------------------------------------- metrology (no database)

def test_mpe_command():
    res = run("metrology", "mpe", "--class", "III", "--e", "5", "--load", "2000", "--json")
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert out["mpe"] == 2.5 and out["mpe_e"] == 0.5 and out["load_e"] == 400
    res = run("metrology", "mpe", "--class", "III", "--e", "5", "--load", "2000", "--in-service",
              "--json")
    assert json.loads(res.stdout)["mpe"] == 5
    res = run("metrology", "mpe", "--class", "V", "--e", "5", "--load", "2000")
    assert res.exit_code == 2 and "class 'V'" in res.output


def test_verify_scale_exit_codes(tmp_path):
    res = run("metrology", "verify-scale", write(tmp_path, "ok.json", SCALE), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["outcome"] == "pass"
    bad = copy.deepcopy(SCALE)
    bad["weighing"][7]["indication"] = 15010     # 3 000 e: MPE 7.5 g, error 10 g
    res = run("metrology", "verify-scale", write(tmp_path, "bad.json", bad))
    assert res.exit_code == 1
    assert "[FAIL] weighing #8 at 15000 g: error +10 g exceeds MPE ±7.5 g" in res.output
    # the same error is within the in-service MPE (15 g)
    res = run("metrology", "verify-scale", tmp_path / "bad.json", "--in-service")
    assert res.exit_code == 0, res.output
    res = run("metrology", "verify-scale", tmp_path / "missing.json")
    assert res.exit_code == 2 and "no such file" in res.output


def test_verify_scale_from_csv_with_spec_options(tmp_path):
    lines = ["test,position,load,indication,extra,before,after,nominal,mpe"]
    lines += [f"weighing,,{p},{p},,,,," for p in (0, 100, 2500, 3750, 7500, 10000, 11250, 15000)]
    lines += [f"eccentricity,{q},5000,5000,,,,," for q in ("A", "B", "C", "D")]
    lines += ["repeatability,,15000,15000,,,,,"] * 3
    lines += ["discrimination,,100,,7,100,105,,", "standard_weights,,,,,,,10000,0.5"]
    p = tmp_path / "r.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = run("metrology", "verify-scale", p, "--max", "15000", "--e", "5", "--class", "III")
    assert res.exit_code == 0, res.output
    p.write_text("\n".join(lines).replace("weighing,,7500,7500", "weighing,,7500,x") + "\n",
                 encoding="utf-8")
    res = run("metrology", "verify-scale", p, "--max", "15000", "--e", "5")
    assert res.exit_code == 2 and "weighing #5: indication is not a number" in res.output


def test_verify_bp(tmp_path):
    assert run("metrology", "verify-bp", write(tmp_path, "bp.json", BP)).exit_code == 0
    bad = copy.deepcopy(BP)
    bad["points"][1]["indicated"] = 104
    res = run("metrology", "verify-bp", write(tmp_path, "bad.json", bad), "--json")
    assert res.exit_code == 1 and json.loads(res.stdout)["outcome"] == "fail"
    assert run("metrology", "verify-bp", tmp_path / "bad.json", "--in-service").exit_code == 0
    assert run("metrology", "verify-bp", tmp_path / "bad.json", "--mode", "subsequent"
               ).exit_code == 0
    assert run("metrology", "verify-bp", tmp_path / "bad.json", "--mode", "initial"
               ).exit_code == 1


def test_curve_command(tmp_path):
    p = write(tmp_path, "c.json", {"x": [0, 2, 4, 6, 8, 10, 12],
                                   "y": [2.1, 5.0, 9.0, 12.6, 17.3, 21.0, 24.7]})
    res = run("metrology", "curve", p, "--y0", "13.5", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert round(out["fit"]["slope"], 2) == 1.93 and round(out["read_back"][0]["x0"], 2) == 6.21
    bad = write(tmp_path, "b.json", {"x": [0, 1, "two"], "y": [1, 2, 3]})
    res = run("metrology", "curve", bad)
    assert res.exit_code == 2 and "x #3 is not a number" in res.output


# ------------------------------------------------------------- with a database

T0 = datetime(2026, 5, 6, 9, 30, tzinfo=TZ)


@pytest.fixture
def db(env_db):
    res = run("init")
    assert res.exit_code == 0, res.output
    engine = make_engine(env_db)
    with Session(engine) as s:
        s.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
        s.add_all([Instrument(serial_no="AN-1", model="RP-12", kind="pesticide_analyzer",
                              driver="profile"),
                   Instrument(serial_no="SC-1", model="TCS-15", kind="platform_scale",
                              driver="ohaus", calibration_interval_days=180)])
        s.add(OutreachEvent(name="进社区", kind="community", starts_at=T0))
        s.commit()
    yield engine
    engine.dispose()


def test_record_due_certificate(db, tmp_path):
    res = run("calibration", "due", "--json")
    assert res.exit_code == 0
    assert {r["serial_no"]: r["state"] for r in json.loads(res.stdout)} == {
        "AN-1": "unknown", "SC-1": "unknown"}
    res = run("calibration", "record", "--instrument", "SC-1", "--kind", "verification",
              "--readings", write(tmp_path, "s.json", SCALE), "--reference-equipment",
              "M1 weights", "--json")
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    assert rec["outcome"] == "pass"
    assert rec["due_date"] == (now().astimezone(TZ).date() + timedelta(days=180)
                               ).isoformat()
    res = run("calibration", "due", "--within", "30d", "--json")
    assert [r["serial_no"] for r in json.loads(res.stdout)] == ["AN-1"]
    res = run("calibration", "due", "--within", "200d", "--json")
    assert {r["serial_no"] for r in json.loads(res.stdout)} == {"AN-1", "SC-1"}
    assert run("calibration", "due", "--within", "soon").exit_code == 2

    res = run("calibration", "certificate", "--record", rec["id"], "--out", tmp_path / "c.pdf")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")

    bad = copy.deepcopy(ANALYZER)
    bad["wavelength"][0]["measured_nm"] = 421
    res = run("calibration", "record", "--instrument", "AN-1", "--kind", "calibration",
              "--readings", write(tmp_path, "a.json", bad))
    assert res.exit_code == 1 and "[FAIL] wavelength 410 nm" in res.output
    failed_id = max(r.id for r in Session(db).exec(select(CalibrationRecord)))
    res = run("calibration", "certificate", "--record", failed_id, "--out", tmp_path / "f.pdf")
    assert res.exit_code == 2 and "failed" in res.output
    res = run("calibration", "record", "--instrument", "NOPE", "--kind", "verification",
              "--readings", tmp_path / "s.json")
    assert res.exit_code == 2 and "NOPE" in res.output


def test_qc_add_and_check_exit_codes(db):
    base = ",".join(str(v) for v in (0.50, 0.52, 0.48, 0.51, 0.49, 0.50, 0.52, 0.48, 0.51, 0.49))
    assert run("qc", "add", "--instrument", "AN-1", "--values", base, "--baseline").exit_code == 0
    assert run("qc", "add", "--instrument", "AN-1", "--values", "0.50,0.51").exit_code == 0
    res = run("qc", "check", "--instrument", "AN-1", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["status"] == "ok"
    assert run("qc", "add", "--instrument", "AN-1", "--values", "0.56").exit_code == 0  # > 3 SD
    res = run("qc", "check", "--instrument", "AN-1")
    assert res.exit_code == 1 and "1-3s (reject)" in res.output
    assert run("qc", "add", "--instrument", "AN-1", "--values", "0.5,abc").exit_code == 2
    assert run("qc", "check", "--instrument", "SC-1").exit_code == 2


def test_review_held_accept_void(db):
    with Session(db) as s:
        rep = accept_readings(session=s, actor=SYSTEM, readings=[
            ReadingIn(method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": d},
                      tested_at=T0, market="M1", commodity="小白菜", instrument_serial="AN-1",
                      ingest_key=f"k{d}") for d in (0.10, 0.30)])
        s.commit()
        ids = [x.result_id for x in rep.stored]
    res = run("review", "held", "--json")
    assert [r["id"] for r in json.loads(res.stdout)] == ids
    res = run("review", "result", "--id", ids[0], "--accept", "--void", "--reason", "x")
    assert res.exit_code == 2 and "exactly one" in res.output
    res = run("review", "result", "--id", ids[0], "--accept", "--reason", "")
    assert res.exit_code == 2 and "reason" in res.output
    res = run("review", "result", "--id", ids[0], "--accept", "--reason", "rechecked", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["status"] == "accepted"
    assert run("review", "result", "--id", ids[1], "--void", "--reason", "no cal").exit_code == 0
    assert json.loads(run("review", "held", "--json").stdout) == []
    with Session(db) as s:
        acts = [e.action for e in s.exec(select(AuditEvent).where(
            AuditEvent.entity == "test_result"))]
    assert acts == ["result.accept", "result.void"]


def test_metering_check_and_counts(db, tmp_path):
    with Session(db) as s:
        ev = s.exec(select(OutreachEvent)).one().id
    res = run("metering", "check", "--event", ev, "--kind", "bp_meter", "--readings",
              write(tmp_path, "bp.json", BP), "--make", "Omron")
    assert res.exit_code == 0, res.output
    bad = copy.deepcopy(BP)
    bad["points"][2]["indicated"] = 190
    res = run("metering", "check", "--event", ev, "--kind", "bp_meter", "--readings",
              write(tmp_path, "bad.json", bad))
    assert res.exit_code == 1
    res = run("metering", "counts", "--json")
    (row,) = json.loads(res.stdout)
    assert (row["checked"], row["passed"], row["failed"]) == (2, 1, 1)
