"""Sample labels: a PDF for 58 mm thermal label printers (one 58 × 40 mm label a page) or A4
sheets (3 × 7 labels), each with the sample code as QR and Code 128, the commodity, the stall and
the time it was taken. The CJK font is embedded (fpdf2 subsets it); without one the label is
refused with a clear message rather than printed without its Chinese.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import barcode
from barcode.writer import ImageWriter
from fpdf import FPDF
from sqlmodel import Session, select

from lims.errors import InvalidInput, NotFound
from lims.field.slips import qr_image
from lims.models import Commodity, Market, Sample, Vendor
from lims.reporting.monthly_report import cjk_font
from lims.timeutil import local_tz

#: label formats: page size (mm) and the label grid on it
FORMATS = {"58mm": {"page": (58, 40), "cols": 1, "rows": 1},
           "a4": {"page": (210, 297), "cols": 3, "rows": 7}}
LABEL_W, LABEL_H = 58, 40   # one label, mm
A4_MARGIN_X, A4_MARGIN_Y = 8.0, 8.5


@dataclass(frozen=True)
class LabelData:
    code: str
    commodity: str
    where: str        # market · stall, or "居民送检 resident"
    taken_at: datetime


def label_data(session: Session, codes: list[str]) -> list[LabelData]:
    """What each label shows; an unknown code is refused, naming it."""
    out = []
    for raw in codes:
        code = raw.strip().upper()
        s = session.exec(select(Sample).where(Sample.code == code)).first()
        if s is None:
            raise NotFound(f"no sample with code {raw!r}")
        c = session.get(Commodity, s.commodity_id)
        m = session.get(Market, s.market_id) if s.market_id else None
        v = session.get(Vendor, s.vendor_id) if s.vendor_id else None
        where = " · ".join(x for x in (m.name if m else "", v.stall if v else "") if x)
        out.append(LabelData(code, c.name_zh if c else "?", where or "居民送检 resident",
                             s.taken_at))
    return out


def code128_png(code: str) -> bytes:
    """The code as a Code 128 barcode (PNG, no text under it: the label prints the code)."""
    buf = io.BytesIO()
    barcode.Code128(code, writer=ImageWriter()).write(
        buf, options={"write_text": False, "module_width": 0.25, "module_height": 6.0,
                      "quiet_zone": 2.0, "dpi": 300})
    return buf.getvalue()


def _qr_png(code: str) -> bytes:
    buf = io.BytesIO()
    qr_image(code, box_size=6).save(buf, format="PNG")
    return buf.getvalue()


def _draw(pdf: FPDF, x: float, y: float, d: LabelData, tz: ZoneInfo) -> None:
    pdf.image(io.BytesIO(_qr_png(d.code)), x=x + 1.5, y=y + 1.5, w=20, h=20)
    pdf.set_xy(x + 22.5, y + 2.5)
    pdf.set_font("cjk", size=11)
    pdf.cell(LABEL_W - 24, 5.5, d.code)
    pdf.set_font("cjk", size=9)
    pdf.set_xy(x + 22.5, y + 8.5)
    pdf.cell(LABEL_W - 24, 4.5, d.commodity[:12])
    pdf.set_xy(x + 22.5, y + 13)
    pdf.set_font("cjk", size=7)
    pdf.cell(LABEL_W - 24, 4, d.where[:20])
    pdf.set_xy(x + 22.5, y + 17)
    pdf.cell(LABEL_W - 24, 4, d.taken_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"))
    pdf.image(io.BytesIO(code128_png(d.code)), x=x + 3, y=y + 23, w=LABEL_W - 6, h=13)


def labels_pdf(*, session: Session, codes: list[str], fmt: str = "58mm",
               tz: ZoneInfo | None = None) -> bytes:
    """The labels of ``codes`` as a PDF in format ``58mm`` or ``a4``."""
    if fmt not in FORMATS:
        raise InvalidInput(f"label format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not codes:
        raise InvalidInput("give at least one sample code")
    tz = tz or local_tz()
    data = label_data(session, codes)
    f = FORMATS[fmt]
    pdf = FPDF(unit="mm", format=f["page"])
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0)
    pdf.add_font("cjk", "", str(cjk_font()))
    per_page = f["cols"] * f["rows"]
    for i, d in enumerate(data):
        if i % per_page == 0:
            pdf.add_page()
        slot = i % per_page
        if fmt == "58mm":
            x, y = 0.0, 0.0
        else:
            x = A4_MARGIN_X + (slot % f["cols"]) * (LABEL_W + 6)
            y = A4_MARGIN_Y + (slot // f["cols"]) * LABEL_H
        _draw(pdf, x, y, d, tz)
    return bytes(pdf.output())
