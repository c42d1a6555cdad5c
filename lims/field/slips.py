"""The printable result slip (快检结果告知单): bilingual text and a QR code to the public page.

The QR code carries the page's URL with an Ed25519 signature over code, verdict, time and URL
base (``lims.field.signing``), so a forged slip can be told offline (``lims slip verify``).

``slip_png`` draws it with Pillow (QR from ``qrcode``); ``slip_pdf`` puts the same image on an
80 mm wide page with fpdf2 (receipt printers). Chinese needs a CJK font: the first of ``FONT_CANDIDATES`` found is used
(else Pillow's default font, which has no Chinese glyphs).
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import qrcode
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from sqlmodel import Session

from lims.field import signing
from lims.field.stand import PublicResult, public_result
from lims.timeutil import local_tz

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
WIDTH = 720
MARGIN = 36
PDF_WIDTH_MM = 80
VERDICT_COLOURS = {"negative": "#1b7f3b", "compliant": "#1b7f3b", "positive": "#c62828",
                   "noncompliant": "#c62828", "suspicious": "#e08a00"}


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def qr_image(url: str, box_size: int = 8) -> Image.Image:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size,
                       border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def slip_url(r: PublicResult, base_url: str | None = None) -> str:
    """The signed URL of the slip's QR code: the public page with the signed claim."""
    return signing.signed_url(code=r.code, verdict=r.verdict, tested_at=r.tested_at,
                              base_url=base_url)


def slip_lines(*, session: Session, code: str, tz: ZoneInfo | None = None,
               base_url: str | None = None) -> tuple[list[str], str, str]:
    """(text lines, verdict key, signed URL) of the slip for sample ``code``."""
    lines, r = _lines(session=session, code=code, tz=tz)
    return lines, r.verdict, slip_url(r, base_url)


def _lines(*, session: Session, code: str,
           tz: ZoneInfo | None = None) -> tuple[list[str], PublicResult]:
    tz = tz or local_tz()
    r = public_result(session=session, code=code, tz=tz)
    value = f"  {r.value:.2f} {r.unit}" if r.value is not None and r.unit else ""
    lines = [
        f"样品编号 Sample code: {r.code}",
        f"市场 Market: {r.market or '—'}",
        f"摊位 Stall: {r.stall}",
        f"品种 Commodity: {r.commodity_zh} {r.commodity_en}",
        f"方法 Method: {r.method_zh}",
        f"         {r.method_en}",
        f"检测时间 Tested: {r.tested_at.astimezone(tz).strftime('%Y-%m-%d %H:%M')}",
        f"结果 Result: {r.verdict_zh} {r.verdict_en}{value}",
    ]
    if r.verdict in ("positive", "suspicious"):
        lines += [
            "请暂停销售该批产品。如有异议,请在收到本结果",
            f"{r.objection_hours:g} 小时内申请复检(复检不得采用快检方法)。",
            "Suspend sale of this product. Objections: within",
            f"{r.objection_hours:g} h of receiving this result; re-test by a",
            "non-rapid (lab) method (Food Safety Law art. 88).",
        ]
    if r.verdict == "negative":   # issue 19: a negative that cannot show compliance says so
        from lims.lab.advice import advice_for_sample

        tip = advice_for_sample(session=session, code=r.code)
        if tip is not None:
            zh = tip.caveat("zh")
            lines += [zh[i:i + 22] for i in range(0, len(zh), 22)]
            lines += textwrap.wrap(tip.caveat("en"), 48)
    lines += r.handling
    return lines, r


def slip_png(*, session: Session, code: str, base_url: str | None = None,
             tz: ZoneInfo | None = None) -> bytes:
    """The slip as a PNG (bytes). The QR code encodes the signed ``slip_url``."""
    tz = tz or local_tz()
    lines, r = _lines(session=session, code=code, tz=tz)
    verdict = r.verdict
    url = slip_url(r, base_url)
    qr = qr_image(url)
    title, body, big = _font(34), _font(24), _font(56)
    line_h = 36
    height = MARGIN * 2 + 60 + 80 + line_h * len(lines) + 20 + qr.height + 60
    img = Image.new("RGB", (WIDTH, height), "white")
    d = ImageDraw.Draw(img)
    y = MARGIN
    d.text((MARGIN, y), "快检结果告知单 Rapid test result", font=title, fill="black")
    y += 60
    zh_en = next((ln.split(": ", 1)[1] for ln in lines if ln.startswith("结果")), verdict)
    d.text((MARGIN, y), zh_en.split("  ")[0], font=big, fill=VERDICT_COLOURS.get(verdict, "black"))
    y += 80
    for ln in lines:
        d.text((MARGIN, y), ln, font=body, fill="black")
        y += line_h
    y += 20
    img.paste(qr, ((WIDTH - qr.width) // 2, y))
    y += qr.height + 8
    d.text((MARGIN, y), "扫码查看结果 Scan to view: " + url.split("&", 1)[0], font=_font(18),
           fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def slip_pdf(*, session: Session, code: str, base_url: str | None = None,
             tz: ZoneInfo | None = None) -> bytes:
    """The slip as a PDF for an 80 mm receipt printer (the PNG scaled to the paper width)."""
    tz = tz or local_tz()
    png = slip_png(session=session, code=code, base_url=base_url, tz=tz)
    img = Image.open(io.BytesIO(png))
    w = PDF_WIDTH_MM - 8
    h = w * img.height / img.width
    pdf = FPDF(unit="mm", format=(PDF_WIDTH_MM, h + 8))
    pdf.set_margins(4, 4)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.image(img, x=4, y=4, w=w, h=h)
    return bytes(pdf.output())
