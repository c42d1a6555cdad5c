"""The public page opened from a lab test report's QR says whether that version is current."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlmodel import Session, select

from lims.intake.corrections import correct_result
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.lab.release import release
from lims.lab.reports import lab_report, report_url
from lims.models import Market, TestResult
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from lims.storage.engine import get_engine
from tests.conftest import TZ
from tests.dashboards.test_signed_slip_page import _notices, _open


def test_report_qr_current_then_superseded(use_db):
    use_db("demo")
    with Session(get_engine()) as s:
        market = s.exec(select(Market).order_by(Market.id)).first()
        stored = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="LAB-GCMS", tested_at=datetime(2026, 5, 19, 10, 0, tzinfo=TZ),
            market=market.code, commodity="芹菜", analyte="毒死蜱", raw={"value": 0.03})]).stored[0]
        # a lab result is published once a second person released it (issue 19)
        release(session=s, actor=Actor("lab-2", Role.LAB_TECHNICIAN), result_id=stored.result_id)
        s.commit()
        row = SimpleNamespace(code=stored.sample_code, id=stored.result_id)
        rep = lab_report(session=s, code=row.code)
        url = report_url(rep)
    seen = _notices(_open(url))
    assert f"第 {rep.version} 版" in seen["success"] and "current version" in seen["success"]

    with Session(get_engine()) as s:
        value = s.get(TestResult, row.id).raw["value"]
        correct_result(session=s, actor=SYSTEM, result_id=row.id, raw={"value": value * 2},
                       reason="re-read the chromatogram")
        s.commit()
    seen = _notices(_open(url))
    assert "已作废" in seen["warning"] and f"is {rep.version + 1}" in seen["warning"]
