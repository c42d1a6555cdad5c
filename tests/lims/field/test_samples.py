"""Samples registered at the stall: a code and a label first, then the reading lands on it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlmodel import select

from lims.errors import ValidationFailed
from lims.field import labels
from lims.field.samples import register_sample
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import EnforcementCase, Sample, TestResult
from lims.security.auth import SYSTEM
from lims.timeutil import now
from tests.lims.conftest import T0, TESTER


def test_a_reading_naming_the_code_lands_on_the_registered_sample(session, world):
    reg = register_sample(session=session, actor=TESTER, commodity="豇豆", market="M1",
                          vendor_stall="A02", taken_at=T0)
    assert len(reg.sample_code) == 8 and reg.vendor_stall == "A02"
    # the analyzer's reading names only the code: market, stall and commodity come from the label
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", raw={"control_delta": 0.40, "sample_delta": 0.10},
        tested_at=T0 + timedelta(minutes=20), sample_code=reg.sample_code)])
    (st,) = rep.stored
    tr = session.get(TestResult, st.result_id)
    assert st.sample_code == reg.sample_code and tr.sample_id == reg.id
    assert tr.retest_of_id is None            # the first reading is the sample's screen
    accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(   # its two re-tests
        method="ENZ-5009.199", raw={"control_delta": 0.40, "sample_delta": 0.11},
        tested_at=T0 + timedelta(minutes=m), sample_code=reg.sample_code) for m in (40, 60)])
    case = session.exec(select(EnforcementCase).where(EnforcementCase.result_id == tr.id)).one()
    assert case.vendor_id == world["vendors"]["A02"].id   # the case knows whose produce it was
    assert session.exec(select(Sample)).all() == [session.get(Sample, reg.id)]  # no new sample


def test_registration_refuses_what_it_cannot_place(session, world):
    with pytest.raises(ValidationFailed) as e:
        register_sample(session=session, actor=TESTER, commodity="不存在的菜", market="M9",
                        vendor_stall="A01", taken_at=now() + timedelta(hours=2))
    fields = {err.field for err in e.value.errors}
    assert fields == {"commodity", "market", "taken_at"}
    assert "future" in str(e.value)


def _pages_as_images(pdf: bytes) -> list[Image.Image]:
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "l.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "300", "-png", str(src), str(Path(d) / "p")],
                       check=True)
        return [Image.open(io.BytesIO(p.read_bytes())).copy()
                for p in sorted(Path(d).glob("p*.png"))]


@pytest.mark.parametrize("fmt", ["58mm", "a4"])
def test_label_pdf_carries_the_code_as_qr_and_code128(session, world, fmt):
    codes = [register_sample(session=session, actor=TESTER, commodity=c, market="M1",
                             vendor_stall="A01", taken_at=T0).sample_code
             for c in ("芹菜", "韭菜")]
    pdf = labels.labels_pdf(session=session, codes=codes, fmt=fmt)
    # the CJK font is embedded (a subset: /FontFile2 for TrueType, /FontFile3 for CFF)
    assert pdf[:5] == b"%PDF-" and (b"/FontFile2" in pdf or b"/FontFile3" in pdf)
    found: dict[str, set[str]] = {}
    try:
        pages = _pages_as_images(pdf)
    except FileNotFoundError:
        pages = []
    if pages:   # rendered (poppler-utils): decode what a scanner would read
        for img in pages:
            for r in zxingcpp.read_barcodes(img):
                found.setdefault(r.text, set()).add(str(r.format))
        assert len(pages) == (2 if fmt == "58mm" else 1)
    else:       # no renderer: decode the images the label is made of
        for code in codes:
            for png in (labels.code128_png(code), labels._qr_png(code)):
                for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png))):
                    found.setdefault(r.text, set()).add(str(r.format))
    for code in codes:
        assert any("QR" in f for f in found[code]) and any("128" in f for f in found[code])
