"""Files go up with the changes that name them: a patrol's photos and a case's evidence arrive on
the central server byte for byte and linked to their record; a second push sends nothing; a
file whose bytes do not match its hash is refused. A real uvicorn API on loopback over a real
PostgreSQL central database, one SQLite station, separate data directories (module-scoped)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from lims.files import attachments
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.models import Attachment, EnforcementCase, PatrolLog
from lims.outreach import patrols
from lims.security.auth import SYSTEM
from lims.sync.http import Central
from lims.sync.push import push
from tests.lims.api.conftest import T0, Api, token_for
from tests.lims.sync.conftest import central_and_station, image

pytestmark = pytest.mark.postgres


@dataclass
class World:
    central: sa.Engine
    station: sa.Engine
    central_dir: Path
    link: Central
    api: Api


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with central_and_station(tmp_path_factory) as w:
        yield World(w.central, w.station, w.central_dir, w.link, Api(w.url + "/api/v1", w.token))


def test_patrol_photos_and_case_evidence_arrive_byte_for_byte_once(world):
    photo, evidence = image("PNG", "red"), image("JPEG", "blue")
    with Session(world.station) as s:
        patrols.record_patrol(session=s, actor=SYSTEM, route="城东夜市", photos=[(photo, "a.png")],
                              started_at=T0 + timedelta(hours=10))
        code = None
        for i in range(3):   # a positive screen and two positive re-tests: a case
            rep = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
                method="ENZ-5009.199", tested_at=T0 + timedelta(minutes=i), market="M1",
                vendor_stall="A02", commodity="小白菜", sample_code=code, source="manual",
                raw={"control_delta": 0.5, "sample_delta": 0.10}, row=i)])
            code = rep.stored[0].sample_code
        case = s.exec(select(EnforcementCase)).one()
        attachments.attach(s, SYSTEM, "case", case.id, "处置.jpg", evidence)
        s.commit()
        first = push(session=s, actor=SYSTEM, central=world.link)
        again = push(session=s, actor=SYSTEM, central=world.link)
    assert (first.changes["parked"], first.attachments["uploaded"]) == (0, 2)
    assert again.attachments == {"uploaded": 0, "present": 0, "missing_here": 0, "refused": 0,
                                 "bytes": 0}
    with Session(world.central) as s:
        patrol = s.exec(select(PatrolLog)).one()
        central_case = s.exec(select(EnforcementCase)).one()
        files = {a.owner_kind: a for a in s.exec(select(Attachment))}
    assert files["patrol"].owner_id == patrol.id
    assert patrol.photos[0]["sha256"] == files["patrol"].sha256
    assert (files["case"].owner_id, files["case"].name) == (central_case.id, "处置.jpg")
    assert attachments.load(files["patrol"].sha256, world.central_dir) == photo
    assert attachments.load(files["case"].sha256, world.central_dir) == evidence


def test_the_upload_route_checks_hash_and_type_and_is_idempotent(world):
    data = image("PNG", "green")
    sha = hashlib.sha256(data).hexdigest()
    put = {"Content-Type": "image/png"}
    wrong = world.api.call("PUT", f"/attachments/{'0' * 64}", raw=data, headers=put)
    assert wrong.status == 400 and "SHA-256" in wrong.json["error"], wrong.body
    as_pdf = world.api.call("PUT", f"/attachments/{sha}", raw=data,
                            headers={"Content-Type": "application/pdf"})
    assert as_pdf.status == 422 and "not a PDF" in as_pdf.json["errors"][0]["message"]
    asked = world.api.post("/attachments/missing", {"sha256": [sha]})
    assert asked.json == {"missing": [sha]}
    assert world.api.call("PUT", f"/attachments/{sha}", raw=data, headers=put).status == 201
    second = world.api.call("PUT", f"/attachments/{sha}", raw=data, headers=put)
    assert (second.status, second.json["status"]) == (200, "present")
    assert world.api.post("/attachments/missing", {"sha256": [sha]}).json == {"missing": []}
    reader = token_for(world.central, station="board", role="reader")
    denied = world.api.call("PUT", f"/attachments/{sha}", raw=data, headers=put, token=reader)
    assert denied.status == 403
