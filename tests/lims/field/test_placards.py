"""Stall QR (一户一码, issue 14): the stall's public record and its printable placard.

The placard's QR code decodes (poppler renders the PDF, zxing-cpp reads it, as a phone would) to
the stall's public URL; the record lists the stall's recent results but never a held or voided
one, and gives the grade's reason in both languages."""

from __future__ import annotations

import io
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from PIL import Image
from typer.testing import CliRunner

from lims.enforcement.grades import recompute_grades
from lims.errors import InvalidInput, NotFound
from lims.field import board, placards
from lims.intake.corrections import void_result
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Instrument, Sample, TestResult
from lims.security.auth import SYSTEM
from tests.lims.conftest import T0

BASE = "https://lims.county.example.cn"


def _reading(stall: str, at, *, bad: bool = False, serial: str | None = None,
             commodity: str = "芹菜") -> ReadingIn:
    return ReadingIn(method="ENZ-5009.199", tested_at=at, market="M1", vendor_stall=stall,
                     commodity=commodity, instrument_serial=serial, tested_by="tester",
                     raw={"control_delta": 0.40, "sample_delta": 0.10 if bad else 0.38})


def _store(session, *readings: ReadingIn) -> list[int]:
    rep = accept_readings(session=session, actor=SYSTEM, readings=list(readings))
    session.commit()
    return [s.result_id for s in rep.stored]


def _decoded(pdf: bytes) -> list[str]:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "p.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-png", str(src), str(Path(d) / "p")],
                       check=True)
        pages = [Image.open(io.BytesIO(p.read_bytes())).copy()
                 for p in sorted(Path(d).glob("p*.png"))]
    assert len(pages) == 1
    return [r.text for r in zxingcpp.read_barcodes(pages[0]) if "QR" in str(r.format)]


@pytest.mark.parametrize("fmt", ["a4", "a5"])
def test_placard_qr_decodes_to_the_stall_url(session, world, fmt):
    pdf = placards.placard_pdf(session=session, market="M1", stall="A02", fmt=fmt,
                               base_url=BASE + "/")
    assert pdf[:5] == b"%PDF-" and (b"/FontFile2" in pdf or b"/FontFile3" in pdf)  # CJK embedded
    (url,) = _decoded(pdf)
    assert url == f"{BASE}/stall?market=M1&stall=A02"
    assert url == board.stall_url("M1", "A02", BASE)
    # the market may be given by name; the URL still carries its code
    assert placards.placard_data(session=session, market="城东农贸市场", stall="A02",
                                 base_url=BASE).url == url


def test_stall_url_escapes_and_takes_the_setting(monkeypatch):
    monkeypatch.setenv("LIMS_PUBLIC_BASE_URL", "http://10.0.0.5:8501/public")
    url = board.stall_url("M1", "A 01&x")
    assert url.startswith("http://10.0.0.5:8501/stall?")
    assert parse_qs(urlsplit(url).query) == {"market": ["M1"], "stall": ["A 01&x"]}


def test_placard_of_an_unknown_stall_is_refused_by_name(session, world):
    with pytest.raises(NotFound, match="Z99"):
        placards.placard_pdf(session=session, market="M1", stall="Z99")
    with pytest.raises(NotFound, match="NOPE"):
        placards.placard_pdf(session=session, market="NOPE", stall="A01")
    with pytest.raises(InvalidInput, match="a4"):
        placards.placard_pdf(session=session, market="M1", stall="A01", fmt="letter")


def test_stall_view_lists_recent_results_never_held_or_voided(session, world):
    session.add(Instrument(serial_no="NO-CAL", model="RP-12", kind="pesticide_analyzer",
                           driver="profile", profile="enzyme-12ch"))   # never calibrated: holds
    session.commit()
    shown, voided = _store(session, _reading("A01", T0 - timedelta(days=2)),
                           _reading("A01", T0 - timedelta(days=1), commodity="韭菜"))
    (held,) = _store(session, _reading("A01", T0, serial="NO-CAL", commodity="菠菜"))
    _store(session, _reading("A02", T0 - timedelta(hours=1)),               # another stall
           _reading("A01", T0 - timedelta(days=200)))                      # too old
    void_result(session=session, actor=SYSTEM, result_id=voided, reason="wrong commodity")
    session.commit()

    v = board.stall_view(session=session, market="M1", stall="A01", at=T0 + timedelta(hours=1))
    assert (v.market_code, v.market, v.stall) == ("M1", "城东农贸市场", "A01")
    assert [r.commodity_zh for r in v.results] == ["芹菜"]     # held 菠菜, voided 韭菜: never
    assert v.results[0].verdict == "negative" and len(v.results[0].code) >= 4

    code = {rid: session.get(Sample, session.get(TestResult, rid).sample_id).code
            for rid in (shown, voided, held)}
    assert board.public_state(session=session, code=code[shown]) == "shown"
    assert board.public_state(session=session, code=code[voided]) == "voided"
    assert board.public_state(session=session, code=code[held].lower()) == "held"
    assert board.public_state(session=session, code="NOSUCH") is None


def test_stall_grade_reason_in_both_languages(session, world):
    before = board.stall_view(session=session, market="M1", stall="A03")
    assert before.grade == "A" and before.reason_en is None and before.reason_zh is None
    for days in (3, 1):   # two positives, each confirmed by its two re-tests (GB/T 5009.199)
        screen = _reading("A03", T0 - timedelta(days=days), bad=True)
        rep = accept_readings(session=session, actor=SYSTEM, readings=[screen])
        code = rep.stored[0].sample_code
        retests = [_reading("A03", T0 - timedelta(days=days) + timedelta(minutes=m), bad=True)
                   for m in (10, 20)]
        for r in retests:
            r.sample_code = code
        _store(session, *retests)
    recompute_grades(session=session, actor=SYSTEM, at=T0)
    session.commit()
    v = board.stall_view(session=session, market="M1", stall="A03", at=T0)
    assert v.grade != "A"
    assert v.reason_en and v.reason_en.startswith(v.grade)
    assert v.reason_zh and v.reason_zh.startswith(v.grade) and v.reason_zh != v.reason_en
    with pytest.raises(NotFound, match="no stall"):
        board.stall_view(session=session, market="M1", stall="Q1")


def test_cli_stall_placard(env_db, tmp_path):
    from sqlmodel import Session

    from lims.cli import app
    from lims.models import Market, Vendor
    from lims.storage.engine import get_engine

    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    with Session(get_engine()) as s:
        m = Market(code="CG-01", name="东门农贸市场", county="城关区", kind="farmers")
        s.add(m)
        s.flush()
        s.add(Vendor(market_id=m.id, stall="A01", name="张记蔬菜"))
        s.commit()
    out = tmp_path / "placard.pdf"
    r = runner.invoke(app, ["stall", "placard", "--market", "CG-01", "--stall", "A01",
                            "--out", str(out), "--base-url", BASE])
    assert r.exit_code == 0, r.output
    assert _decoded(out.read_bytes()) == [f"{BASE}/stall?market=CG-01&stall=A01"]
    r = runner.invoke(app, ["stall", "placard", "--market", "CG-01", "--stall", "Z9",
                            "--out", str(tmp_path / "x.pdf")])
    assert r.exit_code == 2 and "no stall 'Z9' in market CG-01" in r.output
    assert not (tmp_path / "x.pdf").exists()
    r = runner.invoke(app, ["stall", "show", "--market", "CG-01", "--stall", "A01", "--json"])
    assert r.exit_code == 0 and '"grade": "B"' in r.output
