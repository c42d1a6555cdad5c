"""A time typed in the future is refused wherever a person types one (issue 16): case steps,
alert responses, calibration records, meter checks, tests at the stand, sample registration and
file imports; the tolerance is the setting LIMS_FUTURE_TOLERANCE_MINUTES."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from lims.enforcement import alerts, cases
from lims.errors import ValidationFailed
from lims.field.stand import record_field_test
from lims.metrology import calibration as cal
from lims.models import Alert, EnforcementCase, Instrument
from lims.models.enums import Role
from lims.security.auth import Actor
from lims.timeutil import refuse_future
from tests.conftest import TZ
from tests.lims.conftest import T0, TESTER

TECH = Actor("wang.tech", Role.LAB_TECHNICIAN)
CLOCK = "2026-05-06T12:00:00+08:00"
LATER = datetime(2026, 5, 6, 13, 0, tzinfo=TZ)      # an hour ahead of the pinned clock


@pytest.fixture
def pinned(monkeypatch):
    monkeypatch.setenv("LIMS_CLOCK", CLOCK)
    monkeypatch.setenv("LIMS_FUTURE_TOLERANCE_MINUTES", "30")


def test_refuse_future_names_the_field_and_honours_the_tolerance(pinned, monkeypatch):
    with pytest.raises(ValidationFailed, match="performed_at: .* is in the future"):
        refuse_future(LATER, "performed_at", "record")
    assert refuse_future(LATER - timedelta(minutes=40), "x") is not None   # within 30 min
    monkeypatch.setenv("LIMS_FUTURE_TOLERANCE_MINUTES", "90")
    assert refuse_future(LATER, "performed_at") == LATER


def test_typed_times_in_the_future_are_refused_everywhere(session, world, pinned):
    with pytest.raises(ValidationFailed, match="tested_at: .* in the future"):
        record_field_test(session=session, actor=TESTER, market="M1", vendor_stall="A01",
                          commodity="小白菜", card_colour="unchanged", tested_at=LATER)
    out = record_field_test(session=session, actor=TESTER, market="M1", vendor_stall="A01",
                            commodity="小白菜", card_colour="unchanged", tested_at=T0)
    session.commit()
    case = session.exec(select(EnforcementCase)).one()
    alert = session.exec(select(Alert)).one()
    assert out.case_id == case.id
    with pytest.raises(ValidationFailed, match="in the future"):
        cases.notify_vendor(session=session, actor=TESTER, case_id=case.id, at=LATER)
    with pytest.raises(ValidationFailed, match="arrived_at: .* in the future"):
        alerts.arrive(session=session, actor=TESTER, alert_id=alert.id, at=LATER)
    session.add(Instrument(serial_no="SC-9", model="TCS", kind="platform_scale", driver="ohaus"))
    session.commit()
    with pytest.raises(ValidationFailed, match="performed_at: .* in the future"):
        cal.record(session=session, actor=TECH, serial_no="SC-9", kind="verification",
                   readings={}, performed_at=LATER)
