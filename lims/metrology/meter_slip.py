"""The slip a resident takes home after a meter check at an outreach event (80 mm PDF, fpdf2).

Chinese and English lines when a CJK font is found (``certificate.find_cjk_font``), else
English only. Nothing about the resident is on it: the event, the instrument, the outcome and
the error at each point checked.
"""

from __future__ import annotations

from fpdf import FPDF
from sqlmodel import Session

from lims.errors import NotFound
from lims.metrology.certificate import _latin, find_cjk_font
from lims.models import MeterCheck, OutreachEvent
from lims.timeutil import local_tz

WIDTH_MM = 80
KIND_NAMES = {"body_scale": ("体重秤", "body scale"), "bp_meter": ("血压计", "BP meter"),
              "kitchen_scale": ("厨房秤", "kitchen scale")}
OUTCOME = {"pass": ("合格", "PASS"), "fail": ("不合格", "FAIL")}
ADVICE = {"pass": ("误差在使用中最大允许误差以内,可继续使用。",
                   "Within the in-service maximum permissible error: fine to keep using."),
          "fail": ("误差超出最大允许误差,建议送修或更换,并请勿据此判断健康状况。",
                   "Error beyond the maximum permissible error: have it repaired or replaced; "
                   "do not rely on its readings.")}


def slip_lines(check: MeterCheck, event: OutreachEvent, zh: bool) -> list[tuple[str, int]]:
    """(text, font size) lines of the slip."""
    def both(pair: tuple[str, str]) -> str:
        return f"{pair[0]} {pair[1]}" if zh else pair[1]

    when = check.checked_at.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M")
    device = both(KIND_NAMES.get(check.kind, (check.kind, check.kind)))
    made = " ".join(x for x in (check.make, check.model) if x)
    lines = [(both(("家用计量器具免费检查", "Household instrument check")), 13),
             (f"{event.name}  {event.place}".strip(), 9), (when, 9),
             (device + (f"  {made}" if made else ""), 10),
             (both(OUTCOME.get(check.outcome, (check.outcome, check.outcome))), 20)]
    for c in check.report.get("checks", []):
        mark = "OK" if c.get("passed") else "X"
        lines.append((f"{mark} {c.get('name', '')}: {c.get('message', '')}", 8))
    advice = ADVICE.get(check.outcome)
    if advice:
        lines.append((advice[0] if zh else advice[1], 9))
        if zh:
            lines.append((advice[1], 8))
    lines.append((f"No. MC-{check.id:06d}  {check.checked_by}", 7))
    return lines


def meter_slip_pdf(*, session: Session, check_id: int, font_finder=find_cjk_font) -> bytes:
    """The resident's slip of one meter check as a PDF."""
    check = session.get(MeterCheck, check_id)
    if check is None:
        raise NotFound(f"no meter check with id {check_id}")
    event = session.get(OutreachEvent, check.event_id)
    pdf = FPDF(unit="mm", format=(WIDTH_MM, 200))
    pdf.set_margins(4, 4)
    pdf.set_auto_page_break(True, margin=4)
    pdf.add_page()
    font = font_finder()
    family = "helvetica"
    if font is not None:
        try:
            pdf.add_font("cjk", "", font[0], collection_font_number=font[1])
            family = "cjk"
        except Exception:  # a broken font file: an English-only slip rather than none
            font = None
    zh = font is not None
    for text, size in slip_lines(check, event, zh):
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, size * 0.5, text if zh else _latin(text), new_x="LMARGIN",
                       new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())
