"""Result slips: the QR code decodes to the sample's public page; bilingual text; PDF."""

import io

import zxingcpp
from PIL import Image

from lims.field import slips
from lims.field.stand import public_result, public_url, record_field_test
from tests.lims.conftest import T0, TESTER


def test_public_url_format(monkeypatch):
    assert public_url("K7Q2M9XD", "https://lims.example.cn/") == \
        "https://lims.example.cn/public?code=K7Q2M9XD"
    monkeypatch.setenv("LIMS_PUBLIC_BASE_URL", "http://10.0.0.5:8501")
    assert public_url("AB") == "http://10.0.0.5:8501/public?code=AB"


def test_slip_png_qr_decodes_to_public_page(session, world):
    out = record_field_test(session=session, actor=TESTER, market="M1", vendor_stall="A01",
                            commodity="芹菜", card_colour="unchanged", tested_at=T0,
                            base_url="https://lims.example.cn")
    session.commit()
    assert out.public_url == f"https://lims.example.cn/public?code={out.sample_code}"
    png = slips.slip_png(session=session, code=out.sample_code, base_url="https://lims.example.cn")
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.width == slips.WIDTH and img.height > 600
    decoded = [r.text for r in zxingcpp.read_barcodes(img)]
    (url,) = decoded   # the signed public address (lims.field.signing)
    assert url.startswith(out.public_url + "&v=positive&") and "&sig=" in url
    lines, verdict, _ = slips.slip_lines(session=session, code=out.sample_code)
    assert verdict == "positive"
    assert any("阳性" in ln and "POSITIVE" in ln for ln in lines)
    assert any("4 小时内" in ln for ln in lines) and any("4 h of receiving" in ln for ln in lines)
    pdf = slips.slip_pdf(session=session, code=out.sample_code)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000


def test_public_result_of_a_resident_purchase(session, world):
    from lims.models import OutreachEvent

    ev = OutreachEvent(name="进社区", kind="community", starts_at=T0)
    session.add(ev)
    session.flush()
    out = record_field_test(session=session, actor=TESTER, event_id=ev.id, resident_purchase=True,
                            commodity="菠菜", card_colour="sky_blue", tested_at=T0)
    r = public_result(session=session, code=out.sample_code.lower())
    assert r.verdict == "negative" and r.verdict_zh == "阴性" and "resident" in r.stall
    assert out.vendor_grade is None and out.case_id is None
