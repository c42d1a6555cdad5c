"""Stall placards (一户一码): an A4 (or A5) page for a stall with the QR code of its public page.

The QR code carries ``lims.field.board.stall_url`` (``LIMS_PUBLIC_BASE_URL`` + ``/stall?market=
…&stall=…``): a shopper scans it and sees the stall's grade and recent results. The placard
itself shows no grade or result (those change; the page is always current). The CJK font is
embedded (fpdf2 subsets it), as on the sample labels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from fpdf import FPDF
from sqlmodel import Session

from lims.errors import InvalidInput
from lims.field.board import find_stall, stall_url
from lims.field.slips import qr_image
from lims.reporting.monthly_report import cjk_font

#: page formats (mm)
FORMATS = {"a4": (210, 297), "a5": (148, 210)}


@dataclass(frozen=True)
class PlacardData:
    market: str
    stall: str
    name: str
    url: str


def placard_data(*, session: Session, market: str, stall: str,
                 base_url: str | None = None) -> PlacardData:
    """What the placard of ``stall`` in ``market`` (code or name) shows; NotFound if unknown."""
    m, v = find_stall(session, market, stall)
    return PlacardData(m.name, v.stall, v.name, stall_url(m.code, v.stall, base_url))


def _qr_png(url: str) -> bytes:
    buf = io.BytesIO()
    qr_image(url, box_size=10).save(buf, format="PNG")
    return buf.getvalue()


def placard_pdf(*, session: Session, market: str, stall: str, fmt: str = "a4",
                base_url: str | None = None) -> bytes:
    """The placard of one stall as a one-page PDF (``a4`` or ``a5``)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"placard format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    d = placard_data(session=session, market=market, stall=stall, base_url=base_url)
    w, h = FORMATS[fmt]
    k = w / 210   # scale: the layout is drawn for A4
    pdf = FPDF(unit="mm", format=(w, h))
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0)
    pdf.add_font("cjk", "", str(cjk_font()))
    pdf.add_page()
    pdf.set_draw_color(30, 90, 160)
    pdf.set_line_width(1.2 * k)
    pdf.rect(8 * k, 8 * k, w - 16 * k, h - 16 * k)

    def line(y: float, size: float, text: str, height: float) -> None:
        pdf.set_font("cjk", size=size * k)
        pdf.set_xy(12 * k, y * k)
        pdf.cell(w - 24 * k, height * k, text, align="C")

    line(20, 30, "一户一码 · 快检信息公示", 14)
    line(36, 13, "Stall food-safety record", 7)
    line(50, 22, d.market[:24], 11)
    line(64, 40, f"摊位 {d.stall}"[:16], 18)
    if d.name:
        line(84, 18, d.name[:24], 10)
    side = 130 * k
    pdf.image(io.BytesIO(_qr_png(d.url)), x=(w - side) / 2, y=100 * k, w=side, h=side)
    line(236, 16, "扫码查看本摊位信用等级和近期快检结果", 9)
    line(246, 11, "Scan for this stall's grade and recent test results", 6)
    line(258, 9, d.url[:90], 5)
    line(272, 9, "快检结果仅供参考,不代替法定检验。 Rapid tests screen; they do not replace "
                 "statutory testing.", 5)
    return bytes(pdf.output())
