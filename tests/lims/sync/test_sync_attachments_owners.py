"""Files on samples and calibration records go up with their ``attachment.add`` change: the
central server finds the sample by its code and the record by (instrument, kind, performed_at),
stores the bytes once and links them once; an owner it does not know parks the change. A real
uvicorn API on loopback over a real PostgreSQL central database, one SQLite station, separate
data directories (module-scoped; the tests run in order)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from lims.files import attachments
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.metrology import calibration
from lims.models import Attachment, CalibrationRecord, Sample, SyncParked, SyncPeer
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from lims.sync.apply import apply_changes
from lims.sync.push import push, resend_changes
from tests.lims.api.conftest import ANALYZER, T0
from tests.lims.metrology.calibration_data import ANALYZER as ANALYZER_READINGS
from tests.lims.sync.conftest import central_and_station, image

pytestmark = pytest.mark.postgres
TECH = Actor("wang.tech", Role.LAB_TECHNICIAN)
CERT = b"%PDF-1.4\n% a scanned calibration certificate\n%%EOF\n"


def _count(engine: sa.Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(sa.func.count()).select_from(Attachment)).one()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with central_and_station(tmp_path_factory) as w:
        yield w


def test_sample_photo_and_certificate_scan_arrive_linked_once(world):
    photo = image("JPEG", "red")
    performed = T0 - timedelta(days=10)
    with Session(world.station) as s:
        calibration.record(session=s, actor=TECH, serial_no=ANALYZER, kind="calibration",
                           readings=ANALYZER_READINGS, performed_at=performed,
                           certificate=CERT, certificate_name="证书.pdf")
        rep = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-5009.199", tested_at=T0, market="M1", vendor_stall="A01",
            commodity="小白菜", source="manual", raw={"control_delta": 0.5,
                                                     "sample_delta": 0.45}, row=0)])
        code = rep.stored[0].sample_code
        sample = s.exec(select(Sample).where(Sample.code == code)).one()
        attachments.attach(s, SYSTEM, "sample", sample.id, "样品.jpg", photo)
        s.commit()
        first = push(session=s, actor=SYSTEM, central=world.link)
        again = push(session=s, actor=SYSTEM, central=world.link)
    assert (first.changes["parked"], first.attachments["uploaded"]) == (0, 2), first.to_dict()
    assert first.attachments["bytes"] == len(photo) + len(CERT)
    assert again.attachments == {"uploaded": 0, "present": 0, "missing_here": 0, "refused": 0,
                                 "bytes": 0}
    with Session(world.central) as s:
        central_sample = s.exec(select(Sample).where(Sample.code == code)).one()
        rec = s.exec(select(CalibrationRecord)).one()
        files = {a.owner_kind: a for a in s.exec(select(Attachment))}
    assert set(files) == {"sample", "calibration"}
    assert (files["sample"].owner_id, files["sample"].name) == (central_sample.id, "样品.jpg")
    assert (files["calibration"].owner_id, files["calibration"].name) == (rec.id, "证书.pdf")
    assert files["sample"].sha256 == hashlib.sha256(photo).hexdigest()
    assert files["calibration"].uploaded_by == "station:station-east"
    assert attachments.load(files["sample"].sha256, world.central_dir) == photo
    assert attachments.load(files["calibration"].sha256, world.central_dir) == CERT
    assert (rec.certificate_sha256, rec.certificate_type) == (hashlib.sha256(CERT).hexdigest(),
                                                              "application/pdf")

    with Session(world.station) as s:   # offered again (`lims sync resend-changes`): linked once
        offered = resend_changes(session=s, actor=SYSTEM, url=world.link.base)
        s.commit()
        assert s.exec(select(SyncPeer.last_pushed_event_id)).one() == 0
        resent = push(session=s, actor=SYSTEM, central=world.link)
    assert offered >= 2
    assert resent.changes["applied"] == 0 and resent.changes["duplicates"] == offered
    assert resent.attachments["uploaded"] == 0
    assert _count(world.central) == 2


def test_applying_the_same_file_again_attaches_once_and_only_for_the_owner(world):
    photo = image("JPEG", "red")
    with Session(world.central) as s:
        code = s.exec(select(Sample.code)).one()
        change = {"id": 10_000, "action": "attachment.add", "by": "li", "reason": "",
                  "data": {"sha256": hashlib.sha256(photo).hexdigest(), "name": "again.jpg",
                           "mime": "image/jpeg", "owner": "sample", "sample_code": code}}
        applied = apply_changes(session=s, station="station-east", changes=[change],
                                var_dir=world.central_dir)
        other = apply_changes(session=s, station="station-west",
                              changes=[{**change, "id": 10_001}], var_dir=world.central_dir)
        s.commit()
    assert applied == [{"status": "applied"}]
    assert (other[0]["status"], other[0]["field"]) == ("refused", "data.sample_code")
    assert "no result uploaded by station station-west" in other[0]["message"]
    assert _count(world.central) == 2


def test_a_file_of_a_sample_the_server_lacks_parks_with_the_reason(world):
    with Session(world.station) as s:   # registered on the station, not tested: not sent
        known = s.exec(select(Sample)).first()
        lone = Sample(code="NOTSENT1", commodity_id=known.commodity_id, taken_at=T0)
        s.add(lone)
        s.flush()
        attachments.attach(s, SYSTEM, "sample", lone.id, "lone.jpg", image("JPEG", "green"))
        s.commit()
        rep = push(session=s, actor=SYSTEM, central=world.link)
        (row,) = s.exec(select(SyncParked)).all()
    assert rep.changes["parked"] == 1 and rep.attachments["uploaded"] == 1
    assert (row.action, row.field) == ("attachment.add", "data.sample_code")
    assert "no sample NOTSENT1 here" in row.message
    assert _count(world.central) == 2


def test_resend_changes_cli_names_an_unknown_server_and_rewinds_a_known_one(world, monkeypatch):
    from typer.testing import CliRunner

    from lims.cli import app as cli

    monkeypatch.setenv("LIMS_DATABASE_URL", world.station.url.render_as_string(
        hide_password=False))
    bad = CliRunner().invoke(cli, ["sync", "resend-changes", "--to", "http://other.example"])
    assert bad.exit_code != 0 and "never pushed" in bad.output
    out = CliRunner().invoke(cli, ["sync", "resend-changes", "--to", world.link.base,
                                   "--after-event", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["offered_again"] >= 1
    with Session(world.station) as s:
        assert s.exec(select(SyncPeer.last_pushed_event_id)).one() == 1
        again = push(session=s, actor=SYSTEM, central=world.link)
    assert again.changes["applied"] == 0 and _count(world.central) == 2
