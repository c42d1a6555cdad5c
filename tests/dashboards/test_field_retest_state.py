"""The stand shows "positive, re-test pending" on a sample whose first enzyme result is ≥ 50 %,
and how many re-tests are still needed (issue 14)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session, select

from dashboards.i18n import strings
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.models import Market, Vendor
from lims.models.enums import Role
from lims.security.auth import SYSTEM
from lims.storage.engine import get_engine
from tests.conftest import TZ
from tests.dashboards.conftest import no_exception, run_page


def positive(code: str | None = None, minute: int = 0) -> str:
    with Session(get_engine()) as s:
        vendor = s.exec(select(Vendor).order_by(Vendor.id)).first()
        market = s.get(Market, vendor.market_id)
        out = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", tested_at=datetime(2026, 5, 20, 10, minute, tzinfo=TZ),
            market=market.code, vendor_stall=vendor.stall, commodity="菠菜", sample_code=code,
            raw={"control_delta": 0.5, "sample_delta": 0.1})]).stored[0]
        s.commit()
    return out.sample_code


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pending_then_confirmed_at_the_stand(use_db, lang):
    use_db("one_market")
    code = positive()
    last = {"verdict": "positive", "code": code, "case": None, "grade": "A", "value": 80.0,
            "unit": "%"}
    at = run_page("field_test", role=Role.FIELD_TESTER, lang=lang, state={"field_last": last, "field_mode": "card"})
    no_exception(at)
    pending = strings()["retest.state.pending"][lang].format(n=2)
    assert pending in [w.value for w in at.warning]
    positive(code, 10)
    positive(code, 20)
    at = run_page("field_test", role=Role.FIELD_TESTER, lang=lang, state={"field_last": last, "field_mode": "card"})
    no_exception(at)
    assert strings()["retest.state.confirmed"][lang] in [w.value for w in at.warning]
