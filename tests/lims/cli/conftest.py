"""CLI test helpers: a `lims` runner on the `env_db` database, and a few places to test at."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from lims.cli import app
from lims.models import CalibrationRecord, Instrument, Market, Vendor
from lims.storage.engine import make_engine
from tests.conftest import TZ


@pytest.fixture
def lims(env_db):
    """Run `lims …` against a freshly initialised env_db; returns a call(*args) → Result."""
    runner = CliRunner()

    def call(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    result = call("init")
    assert result.exit_code == 0, result.output
    return call


def add_places(url: str) -> None:
    """Two markets with vendors, an analyzer with a valid verification, one whose lapsed."""
    engine = make_engine(url)
    with Session(engine) as s:
        m1 = Market(code="T-F01", name="城东农贸市场", county="城关区", kind="farmers")
        m2 = Market(code="T-S01", name="永辉超市(城西店)", county="城关区", kind="supermarket")
        s.add_all([m1, m2])
        s.flush()
        s.add_all([Vendor(market_id=m1.id, stall="A01", name="张三", licence_no="JY14311020000011"),
                   Vendor(market_id=m1.id, stall="A02", name="李四"),
                   Vendor(market_id=m2.id, stall="S01", name="城关果蔬配送")])
        ok = Instrument(serial_no="RP12-OK", model="RP-12", kind="pesticide_analyzer",
                        driver="profile", profile="enzyme-12ch")
        old = Instrument(serial_no="RP12-OLD", model="RP-12", kind="pesticide_analyzer",
                         driver="profile", profile="enzyme-12ch")
        s.add_all([ok, old])
        s.flush()
        t0 = datetime(2026, 1, 5, 10, 0, tzinfo=TZ)
        s.add_all([
            CalibrationRecord(instrument_id=ok.id, kind="verification", performed_at=t0,
                              performed_by="王工", outcome="pass", due_date=date(2027, 1, 4)),
            CalibrationRecord(instrument_id=old.id, kind="verification",
                              performed_at=t0 - timedelta(days=400), performed_by="王工",
                              outcome="pass", due_date=date(2026, 1, 1)),
        ])
        s.commit()
    engine.dispose()


@pytest.fixture
def places(lims, env_db):
    add_places(env_db)
    return lims
