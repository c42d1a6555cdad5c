"""Issue 18 × sync: results of a file import that is not published yet (staged) do not go up,
and the push cursor waits before them, so they go up once the import is published."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session

from lims.files import import_publish
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.security.auth import SYSTEM
from tests.lims.api.conftest import T0
from tests.lims.sync.test_sync import central, counts, lims, record_offline, station  # noqa: F401

pytestmark = pytest.mark.postgres


def test_staged_results_wait_and_go_up_once_published(central, station):  # noqa: F811
    engine, url, token = central
    assert lims("pull", "--from", url, env_token=token).returncode == 0
    record_offline(station, 10)                     # ids 1-10: ordinary results
    staged = [ReadingIn(method="ENZ-5009.199", tested_at=T0 + timedelta(hours=2, minutes=i),
                        market="M1", vendor_stall="A01", commodity="小白菜",
                        raw={"control_delta": 0.5, "sample_delta": 0.45}, source="import",
                        row=i) for i in range(5)]
    with Session(station) as s:                      # ids 11-15: an import still storing
        accept_readings(session=s, actor=SYSTEM, readings=staged, stage="f" * 64)
        s.commit()
    record_offline_later = [ReadingIn(method="ENZ-5009.199",
                                      tested_at=T0 + timedelta(hours=3, minutes=i),
                                      market="M1", vendor_stall="A01", commodity="小白菜",
                                      raw={"control_delta": 0.5, "sample_delta": 0.44},
                                      source="manual", row=i) for i in range(3)]
    with Session(station) as s:                      # ids 16-18: a listener meanwhile
        accept_readings(session=s, actor=SYSTEM, readings=record_offline_later)
        s.commit()

    first = json.loads(lims("push", "--to", url, "--json", env_token=token).stdout)
    assert first["stored"] == 10 and sum(counts(engine).values()) == 10   # not the staged
    with Session(station) as s:
        import_publish.publish(session=s, actor=SYSTEM, import_sha="f" * 64)
        s.commit()
    second = json.loads(lims("push", "--to", url, "--json", env_token=token).stdout)
    assert second["stored"] == 8 and second["pending"] == 0
    assert sum(counts(engine).values()) == 18 and counts(engine) == counts(station)
