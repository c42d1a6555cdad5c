"""Re-importing the product's own export adds nothing — analyzer results included, whose ingest
key is the hash of the instrument's message and cannot be recomputed from the row (issue 16:
10 analyzer results came back as re-tests)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from lims.files.results_export import export_results
from lims.files.results_import import import_results
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.models import Instrument, Market, TestResult, Vendor
from lims.security.auth import SYSTEM
from tests.conftest import TZ

T0 = datetime(2026, 5, 6, 9, 0, tzinfo=TZ)


def test_reimporting_an_export_with_analyzer_results_adds_nothing(session: Session, tmp_path):
    m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
    session.add(m)
    session.flush()
    session.add(Vendor(market_id=m.id, stall="A01", name="张记"))
    session.add(Instrument(serial_no="RP12-001", model="RP-12", kind="pesticide_analyzer",
                           driver="profile", profile="enzyme-12ch", market_id=m.id))
    session.commit()
    analyzer = [ReadingIn(method="ENZ-5009.199", tested_at=T0 + timedelta(minutes=i),
                          market="M1", vendor_stall="A01", commodity="菠菜",
                          instrument_serial="RP12-001", channel=str(i + 1), source="listener",
                          ingest_key=f"{i:02d}" + "ab" * 31,   # a message hash
                          raw={"control_delta": 0.5, "sample_delta": 0.4 - 0.01 * i})
                for i in range(10)]
    typed = [ReadingIn(method="ENZ-CARD", tested_at=T0 + timedelta(hours=1), market="M1",
                       vendor_stall="A01", commodity="小白菜", raw={"colour": "sky_blue"})]
    accept_readings(session=session, actor=SYSTEM, readings=analyzer + typed)
    session.commit()
    path = tmp_path / "export.csv"
    with path.open("wb") as fh:
        assert export_results(session=session, actor=SYSTEM, out=fh) == 11
    before = session.execute(sa.select(sa.func.count()).select_from(TestResult)).scalar_one()
    report = import_results(session=session, actor=SYSTEM, path=path)
    session.commit()
    assert (report.created, report.duplicates) == (0, 11)
    after = session.execute(sa.select(sa.func.count()).select_from(TestResult)).scalar_one()
    assert after == before == 11
