"""The calibration page shows each instrument's listener: running / silent since … / never
(issue 18, supervision)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from lims.listening import heartbeat
from lims.models import Instrument
from lims.models.enums import Role
from lims.storage.engine import get_engine
from lims.timeutil import now
from tests.conftest import PINNED_CLOCK
from tests.dashboards.conftest import no_exception, run_page


def test_calibration_page_shows_listener_running_silent_never(use_db):
    use_db("demo")
    at_now = datetime.fromisoformat(PINNED_CLOCK)
    with Session(get_engine()) as s:
        s.add(Instrument(serial_no="ZZ-0009", model="test", kind="pesticide_analyzer",
                         driver="profile", profile="enzyme-12ch"))
        s.commit()
        serials = list(s.exec(select(Instrument.serial_no).order_by(Instrument.serial_no)))
        assert len(serials) >= 3
        # the app clock starts at PINNED_CLOCK and runs on: "running" is 5 s before its now
        heartbeat.beat(session=s, serial=serials[0], at=now() - timedelta(seconds=5),
                       started_at=at_now - timedelta(hours=2))
        heartbeat.beat(session=s, serial=serials[1], at=at_now - timedelta(minutes=10),
                       started_at=at_now - timedelta(hours=2))
        s.commit()
    at = run_page("calibration", role=Role.LAB_TECHNICIAN, lang="en")
    no_exception(at)
    df = at.dataframe[0].value
    shown = dict(zip(df["Serial no."], df["Listener"], strict=True))
    assert shown[serials[0]] == "✓ running"
    assert shown[serials[1]].startswith("⚠ silent since ") and shown[serials[1]].endswith("17:50")
    assert shown[serials[2]] == "— never"
