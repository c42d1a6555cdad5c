"""Attachments (issue 19): checked by content and size, stored once per content, permission-checked,
audited, thumbnailed; an attached photo is disposal evidence for the case-handling score."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import Session, select

from lims.enforcement.scoring import HandlingRule, handling_report
from lims.errors import InvalidInput, NotFound, PermissionDenied, ValidationFailed
from lims.files import attachments as svc
from lims.models import (
    Attachment,
    AuditEvent,
    Commodity,
    EnforcementCase,
    GridGroup,
    Market,
    Method,
    Sample,
    TestResult,
)
from lims.models.enums import Role
from lims.security.auth import Actor
from tests.lims.conftest import MANAGER, T0, TESTER

LAB = Actor("lab", Role.LAB_TECHNICIAN)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png(w: int = 800, h: int = 600, color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def var(tmp_path, monkeypatch):
    monkeypatch.setenv("LIMS_VAR_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def ses(sqlite_engine):
    with Session(sqlite_engine, expire_on_commit=False) as s:
        yield s


def make_case(session: Session, code: str = "S1", disposal: str = "") -> EnforcementCase:
    """A confirmed positive's case, closed on time (with or without a recorded disposal)."""
    g = GridGroup(name="东", county="c")
    session.add(g)
    session.flush()
    m = Market(code=f"M{code}", name="m", county="c", kind="farmers", grid_group_id=g.id)
    session.add(m)
    session.flush()
    com = session.exec(select(Commodity)).first()
    method = session.exec(select(Method).where(Method.code == "ENZ-5009.199")).one()
    s = Sample(code=code, market_id=m.id, commodity_id=com.id, taken_at=T0)
    session.add(s)
    session.flush()
    r = TestResult(sample_id=s.id, method_id=method.id, commodity_id=com.id, market_id=m.id,
                   tested_at=T0, verdict="positive", ingest_key=f"k{code}",
                   local_date=T0.date(), week_start=T0.date() - timedelta(days=T0.weekday()))
    session.add(r)
    session.flush()
    c = EnforcementCase(result_id=r.id, sample_id=s.id, market_id=m.id, commodity_id=com.id,
                        opened_at=T0, opened_by="t", objection_window_hours=4,
                        objection_rule="art. 88", status="closed", outcome="confirmed",
                        disposal=disposal, closed_at=T0 + timedelta(hours=2))
    session.add(c)
    session.flush()
    return c


def test_the_type_is_judged_by_the_content_not_the_name(ses, var):
    case = make_case(ses)
    with pytest.raises(ValidationFailed) as exc:
        svc.attach(ses, TESTER, "case", case.id, "evidence.png", b"GIF89a" + b"\x00" * 40)
    (err,) = exc.value.errors
    assert err.row == "evidence.png" and "not a PDF, PNG or JPEG file" in err.message
    with pytest.raises(ValidationFailed, match="empty.pdf.*empty"):
        svc.attach(ses, TESTER, "case", case.id, "empty.pdf", b"")
    # a PNG called .pdf is a PNG; a PDF where only photos are taken is refused
    a = svc.attach(ses, TESTER, "case", case.id, "scan.pdf", png())
    assert a.media_type == "image/png" and a.name == "scan.pdf"
    with pytest.raises(ValidationFailed, match="not a PNG or JPEG file"):
        svc.attach(ses, TESTER, "case", case.id, "p.jpg", PDF, types=svc.IMAGE_TYPES)
    assert svc.attach(ses, TESTER, "case", case.id, r"C:\scans\lab.pdf", PDF).name == "lab.pdf"


def test_an_oversize_file_is_refused_naming_it(ses, var, monkeypatch):
    case = make_case(ses)
    monkeypatch.setenv("LIMS_ATTACHMENT_MAX_MB", "1")
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024)
    with pytest.raises(ValidationFailed) as exc:
        svc.attach(ses, TESTER, "case", case.id, "huge.png", big)
    assert exc.value.errors[0].row == "huge.png" and "at most 1 MB" in str(exc.value)
    assert not (var / "attachments").exists()   # nothing written
    assert svc.attach(ses, TESTER, "case", case.id, "fits.png", big[:-100]).size == len(big) - 100


def test_the_same_content_is_stored_once_and_every_attach_is_audited(session, var):
    """On both backends: two owners, one file; the same owner again is the same attachment."""
    case = make_case(session)
    data = png()
    a1 = svc.attach(session, TESTER, "case", case.id, "stall.png", data)
    a2 = svc.attach(session, TESTER, "sample", case.sample_id, "stall-again.png", data)
    again = svc.attach(session, TESTER, "case", case.id, "stall-3.png", data)
    session.commit()
    assert a1.id != a2.id and again.id == a1.id and a1.sha256 == a2.sha256
    files = [p for p in (var / "attachments").rglob("*") if p.is_file()]
    assert [p.relative_to(var).as_posix() for p in files] == [svc.relative_path(a1.sha256)]
    assert files[0].read_bytes() == data
    added = session.exec(select(AuditEvent).where(AuditEvent.action == "attachment.add")).all()
    assert sorted(int(e.entity_id) for e in added) == sorted([a1.id, a2.id])   # not 3
    assert added[0].actor == "tester" and added[0].new["sha256"] == a1.sha256
    att, back = svc.read(session, MANAGER, a1.id)
    assert back == data and att.name == "stall.png"
    reads = session.exec(select(AuditEvent).where(AuditEvent.action == "attachment.read")).all()
    assert [(e.actor, e.entity_id) for e in reads] == [("boss", str(a1.id))]
    assert [a.id for a in svc.list_for(session, MANAGER, "case", case.id)] == [a1.id]


def test_roles_that_only_view_an_owner_may_not_attach(ses, var):
    case = make_case(ses)
    # a manager views samples (results.create is not theirs); a lab technician views patrols
    with pytest.raises(PermissionDenied, match="boss .manager. may not results.create"):
        svc.attach(ses, MANAGER, "sample", case.sample_id, "a.png", png())
    assert svc.list_for(ses, MANAGER, "sample", case.sample_id) == []
    with pytest.raises(PermissionDenied, match="may not calibration.record"):
        svc.attach(ses, MANAGER, "calibration", 1, "c.pdf", PDF)
    with pytest.raises(PermissionDenied, match="lab .lab_technician. may not events.manage"):
        svc.attach(ses, LAB, "patrol", 1, "p.png", png())
    assert not ses.exec(select(Attachment)).all() and not (var / "attachments").exists()
    with pytest.raises(NotFound, match="no case with id 999"):
        svc.attach(ses, TESTER, "case", 999, "a.png", png())
    with pytest.raises(InvalidInput, match="owner_kind"):
        svc.list_for(ses, TESTER, "vendor", 1)


def test_thumbnails_of_images_only(ses, var):
    case = make_case(ses)
    photo = svc.attach(ses, TESTER, "case", case.id, "wide.png", png(800, 400))
    thumb = svc.thumbnail(ses, TESTER, photo.id)
    with Image.open(io.BytesIO(thumb)) as img:
        assert img.format == "JPEG" and img.size == (svc.THUMB_PX, svc.THUMB_PX // 2)
    assert list((var / "attachments" / "thumbs").rglob("*.jpg"))   # kept for the next view
    assert svc.thumbnail(ses, TESTER, photo.id) == thumb
    pdf = svc.attach(ses, TESTER, "case", case.id, "lab.pdf", PDF)
    assert svc.thumbnail(ses, TESTER, pdf.id) is None
    broken = svc.attach(ses, TESTER, "case", case.id, "broken.jpg", b"\xff\xd8\xff" + b"0" * 50)
    assert svc.thumbnail(ses, TESTER, broken.id) is None
    # an altered file on disk is not served
    (var / svc.relative_path(pdf.sha256)).write_bytes(PDF + b"x")
    with pytest.raises(NotFound, match="does not match"):
        svc.read(ses, TESTER, pdf.id)


def test_an_attached_photo_counts_as_disposal_evidence(ses, var):
    case = make_case(ses)
    rule = HandlingRule(close_within=timedelta(hours=24), source="test", confirmed=False)

    def lacking() -> int:
        return sum(r.lacking_evidence for r in handling_report(session=ses, rule=rule,
                                                                at=T0 + timedelta(days=1)))

    assert lacking() == 1
    svc.attach(ses, TESTER, "case", case.id, "lab.pdf", PDF)   # a document is not a photo
    assert lacking() == 1
    svc.attach(ses, TESTER, "case", case.id, "destroyed.jpg", _jpeg())
    assert lacking() == 0


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(buf, "JPEG")
    return buf.getvalue()
