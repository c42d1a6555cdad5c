"""Lab test reports: what the PDF says, its QR (rendered by poppler, read by zxing-cpp) and the
new version after a correction, the old one superseded."""

from __future__ import annotations

import io
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlmodel import Session

from lims.errors import NotFound
from lims.field import signing
from lims.intake.corrections import correct_result
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.lab import release
from lims.lab.reports import lab_report, report_pdf, report_status
from lims.models import Market, Vendor
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from tests.conftest import TZ

BASE = "https://lims.example.gov.cn"
AT = datetime(2026, 5, 6, 14, 0, tzinfo=TZ)


@pytest.fixture
def world(session: Session, tmp_path, monkeypatch):
    monkeypatch.setenv("LIMS_VAR_DIR", str(tmp_path / "var"))   # the slip signing key
    m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
    session.add(m)
    session.flush()
    session.add(Vendor(market_id=m.id, stall="A01", name="张记"))
    session.commit()
    return session


RELEASER = Actor("wang", Role.LAB_TECHNICIAN)   # the second person (李工 recorded)


def lab(session: Session, value: float, code: str | None = None, *, released: bool = True,
        **kw) -> str:
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="LAB-GCMS", tested_at=AT, market="M1", vendor_stall="A01", commodity="芹菜",
        analyte="毒死蜱", raw={"value": value}, sample_code=code, tested_by="李工", **kw)])
    if released:
        release.release(session=session, actor=RELEASER, result_id=rep.stored[0].result_id)
    session.commit()
    return rep.stored[0]


def test_no_report_before_release(world):
    stored = lab(world, 0.5, released=False)
    with pytest.raises(NotFound, match="second-person release"):
        lab_report(session=world, code=stored.sample_code)
    release.release(session=world, actor=RELEASER, result_id=stored.result_id)
    rep = lab_report(session=world, code=stored.sample_code)
    assert [ln.released_by for ln in rep.lines] == ["wang"]


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def qr_texts(pdf: bytes) -> list[str]:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "r.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "200", "-png", str(src), str(Path(d) / "p")],
                       check=True)
        page = Image.open(io.BytesIO(sorted(Path(d).glob("p*.png"))[0].read_bytes())).copy()
    return [r.text for r in zxingcpp.read_barcodes(page) if "QR" in str(r.format)]


def test_report_pdf_says_what_a_lab_signs(world):
    stored = lab(world, 0.2)
    pdf = report_pdf(session=world, code=stored.sample_code, base_url=BASE)
    text = pdf_text(pdf)
    for expected in (stored.sample_code, "毒死蜱", "0.2 mg/kg", "GB 2763", "不合格",
                     "noncompliant", "第 1 版", "第 1 页 共 1 页", "李工", "城东农贸市场"):
        assert expected in text, expected
    [url] = qr_texts(pdf)
    assert url.endswith("&report=1")
    check = signing.verify_url(url)
    assert (check.status, check.code, check.verdict) == ("valid", stored.sample_code,
                                                         "noncompliant")


def test_a_correction_reissues_the_report_and_supersedes_the_old(world):
    stored = lab(world, 0.2)
    assert lab_report(session=world, code=stored.sample_code).version == 1
    correct_result(session=world, actor=SYSTEM, result_id=stored.result_id, raw={"value": 0.02},
                   reason="transcription error: 0.02 in the instrument report")
    world.commit()
    rep = lab_report(session=world, code=stored.sample_code)
    assert (rep.version, rep.verdict) == (2, "compliant")
    assert report_status(session=world, code=stored.sample_code, version=1) == ("superseded", 2)
    assert report_status(session=world, code=stored.sample_code, version=2) == ("current", 2)
    assert "第 2 版" in pdf_text(report_pdf(session=world, code=stored.sample_code,
                                             base_url=BASE))


def test_no_report_without_a_lab_result(world):
    stored = accept_readings(session=world, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", tested_at=AT, market="M1", vendor_stall="A01", commodity="菠菜",
        raw={"control_delta": 0.5, "sample_delta": 0.45})]).stored[0]
    world.commit()
    with pytest.raises(NotFound, match="no confirmatory"):
        lab_report(session=world, code=stored.sample_code)
    with pytest.raises(NotFound, match="no sample"):
        lab_report(session=world, code="NOPE0000")
