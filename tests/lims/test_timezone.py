"""LIMS_TIMEZONE is read in one place (lims.settings) and every local date follows it.

20:00 UTC on 6 May 2026 is still 6 May in UTC but already 7 May in the default zone (UTC+8): the
local date of a result, and whether an instrument due on 6 May was overdue when it tested, depend
on the configured zone, never on a zone written into the code.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from lims.errors import ConfigError
from lims.intake import gate
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.metrology import calibration
from lims.models import CalibrationRecord, Instrument, Market, TestResult
from lims.models.enums import CalibrationState
from lims.security.auth import SYSTEM
from lims.settings import SETTINGS
from lims.timeutil import aware, local_date, local_tz, parse_timestamp
from tests.conftest import TZ

EVENING_UTC = datetime(2026, 5, 6, 20, 0, tzinfo=UTC)
DUE = date(2026, 5, 6)
#: zone → (local date of EVENING_UTC, gate state of an instrument due on DUE at EVENING_UTC)
EXPECTED = {"UTC": (date(2026, 5, 6), CalibrationState.OK),
            TZ.key: (date(2026, 5, 7), CalibrationState.OVERDUE)}   # the setting's default


@pytest.fixture(params=sorted(EXPECTED))
def zone(request, monkeypatch) -> str:
    monkeypatch.setenv("LIMS_TIMEZONE", request.param)
    return request.param


def test_local_tz_is_the_setting_and_follows_a_change(monkeypatch):
    monkeypatch.delenv("LIMS_TIMEZONE")
    assert local_tz().key == next(s.default for s in SETTINGS if s.name == "LIMS_TIMEZONE")
    monkeypatch.setenv("LIMS_TIMEZONE", "UTC")
    assert local_tz().key == "UTC"
    monkeypatch.setenv("LIMS_TIMEZONE", "Europe/Berlin")
    assert local_tz().key == "Europe/Berlin"
    monkeypatch.setenv("LIMS_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="LIMS_TIMEZONE: unknown time zone 'Mars/Olympus'"):
        local_tz()


def test_local_date_follows_the_setting(zone):
    day, _ = EXPECTED[zone]
    assert local_date(EVENING_UTC) == day
    # a naive timestamp is local time in the configured zone
    naive = datetime(2026, 5, 7, 4, 0)
    assert aware(naive).utcoffset() == EVENING_UTC.astimezone(local_tz()).utcoffset()
    assert parse_timestamp("2026-05-07T04:00").tzinfo is local_tz()


def test_no_module_fixes_the_zone_at_import_time():
    """The zone is read from the setting at call time: no ``DEFAULT_TZ`` constant is left."""
    import lims.timeutil

    assert not hasattr(lims.timeutil, "DEFAULT_TZ")


def test_calibration_gate_judges_overdue_by_the_configured_local_date(zone):
    _, state = EXPECTED[zone]
    rec = CalibrationRecord(instrument_id=1, kind="verification", outcome="pass",
                            performed_at=EVENING_UTC - timedelta(days=365), performed_by="tech",
                            due_date=DUE)
    assert gate.state_at([rec], EVENING_UTC) is state


@pytest.fixture
def analyzer_due_on_6_may(session):
    session.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
    inst = Instrument(serial_no="SN-DUE", model="RP-12", kind="pesticide_analyzer",
                      driver="profile")
    session.add(inst)
    session.flush()
    session.add(CalibrationRecord(instrument_id=inst.id, kind="verification", outcome="pass",
                                  performed_at=EVENING_UTC - timedelta(days=365),
                                  performed_by="tech", due_date=DUE))
    session.commit()
    return session


def test_stored_result_gets_the_configured_local_date_and_gate_state(analyzer_due_on_6_may, zone):
    s = analyzer_due_on_6_may
    day, state = EXPECTED[zone]
    rep = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", raw={"control_delta": 0.35, "sample_delta": 0.30},
        tested_at=EVENING_UTC, market="M1", commodity="小白菜", instrument_serial="SN-DUE",
        ingest_key="tz-1")])
    s.commit()
    (stored,) = rep.stored
    assert stored.calibration_state == state.value
    assert stored.status == ("held" if state is CalibrationState.OVERDUE else "recorded")
    assert s.get(TestResult, stored.result_id).local_date == day


def test_due_list_uses_the_configured_today(analyzer_due_on_6_may, zone, monkeypatch):
    monkeypatch.setenv("LIMS_CLOCK", EVENING_UTC.isoformat())
    day, state = EXPECTED[zone]
    (row,) = calibration.due(session=analyzer_due_on_6_may, within_days=30)
    assert row["serial_no"] == "SN-DUE" and row["state"] == state.value
    assert row["days_left"] == (DUE - day).days
