"""The calibration demo step: QC series with a Westgard reject, balance checks, meter checks."""

from datetime import date

from sqlmodel import Session, select

import lims.demo.calibration  # noqa: F401  (registers the step)
from lims.demo.loader import DEMO_STEPS, run_demo
from lims.metrology import calibration as cal
from lims.metrology import metering
from lims.models import CalibrationRecord, Instrument, MeterCheck
from lims.models.enums import Role
from lims.security.auth import Actor


def test_demo_step_builds_qc_series_and_meter_checks(sqlite_engine):
    assert "demo_calibration" in [s.__name__ for s in DEMO_STEPS]
    with Session(sqlite_engine) as s:
        rep = run_demo(session=s, actor=Actor("admin", Role.ADMIN), markets_per_county=1,
                       days=30, until=date(2026, 6, 30))
        s.commit()
        names = rep.steps
        assert names.index("demo_calibration") > names.index("demo_results")
        assert rep.counts["qc_runs"] == 4 * 30 and rep.counts["scale_checks"] == 2
        assert rep.counts["meter_checks"] == len(s.exec(select(MeterCheck)).all()) > 0
        analyzers = s.exec(select(Instrument).where(Instrument.kind == "pesticide_analyzer")
                           .order_by(Instrument.id)).all()
        drifted = cal.qc_check(session=s, serial_no=analyzers[0].serial_no)
        assert drifted["status"] == "reject" and drifted["evaluated"] == 30
        assert {v["rule"] for v in drifted["violations"]} & {"4-1s", "2-2s", "1-3s"}
        checks = s.exec(select(CalibrationRecord).where(
            CalibrationRecord.kind == "intermediate_check")).all()
        assert [c.outcome for c in checks] == ["pass", "pass"]
        per_event = metering.counts_per_event(session=s)
        assert sum(r["checked"] for r in per_event) == rep.counts["meter_checks"]
