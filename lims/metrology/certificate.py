"""A calibration certificate (PDF, fpdf2) for an instrument whose record passed.

Chinese text needs a CJK font: the font file the caller names, else the best Simplified-Chinese
font fontconfig knows (``fc-list :lang=zh``; CI installs fonts-noto-cjk). Without one the
certificate is English-only and ``Certificate.warning`` says so.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from sqlmodel import Session

from lims.errors import LimsError, NotFound
from lims.models import CalibrationRecord, Instrument
from lims.models.enums import CalibrationKind
from lims.timeutil import local_tz

CERTIFIED_KINDS = (CalibrationKind.VERIFICATION.value, CalibrationKind.CALIBRATION.value)
TITLES = {"verification": ("检定证书", "Verification certificate"),
          "calibration": ("校准证书", "Calibration certificate")}


@dataclass
class Certificate:
    path: Path
    record_id: int
    cjk: bool
    warning: str = ""


def find_cjk_font() -> tuple[str, int] | None:
    """(file, index in a .ttc collection) of a Simplified-Chinese font, or None."""
    if shutil.which("fc-list") is None:
        return None
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file", "index", "family"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    best = None
    for line in out.splitlines():
        # "/path/NotoSansCJK-Regular.ttc: Noto Sans CJK SC,…:index=2"
        path, _, rest = line.partition(": ")
        idx = 0
        if ":index=" in rest:
            rest, _, i = rest.rpartition(":index=")
            idx = int(i) if i.strip().isdigit() else 0
        if not path.lower().endswith((".ttf", ".ttc", ".otf")) or "bold" in path.lower():
            continue
        score = ("Sans" in rest) + ("SC" in rest) * 2 + path.lower().endswith(".ttc")
        if best is None or score > best[0]:
            best = (score, path, idx)
    return (best[1], best[2]) if best else None


_ASCII = str.maketrans({"−": "-", "≤": "<=", "≥": ">=", "Δ": "d", "…": "...", "–": "-",
                        "×": "x", "≈": "~"})


def _latin(text: str) -> str:
    """Text the core (Latin-1) fonts can draw: common symbols spelled out, others as '?'."""
    return text.translate(_ASCII).encode("latin-1", "replace").decode("latin-1")


def _rows(rec: CalibrationRecord, inst: Instrument, zh: bool) -> list[tuple[str, str]]:
    def label(z: str, e: str) -> str:
        return f"{z} {e}" if zh else e
    performed = rec.performed_at.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M")
    return [
        (label("证书编号", "Certificate no."), f"CAL-{rec.id:06d}"),
        (label("器具", "Instrument"), f"{inst.model} ({inst.kind})"),
        (label("出厂编号", "Serial no."), inst.serial_no),
        (label("依据", "Standard"), rec.standard or "—"),
        (label("标准器", "Reference equipment"), rec.reference_equipment or "—"),
        (label("日期", "Date"), performed),
        (label("检定/校准员", "Performed by"), rec.performed_by),
        (label("结论", "Outcome"), ("合格 " if zh else "") + "PASS"),
        (label("有效期至", "Valid until"), rec.due_date.isoformat() if rec.due_date else "—"),
    ]


def write_certificate(*, session: Session, record_id: int, out: Path | str,
                      font_file: Path | str | None = None,
                      font_finder: Callable[[], tuple[str, int] | None] = find_cjk_font,
                      ) -> Certificate:
    """Write the certificate of a passing verification/calibration record to ``out``.

    ``font_file`` names a CJK TTF/TTC/OTF to use; otherwise ``font_finder`` looks one up."""
    rec = session.get(CalibrationRecord, record_id)
    if rec is None:
        raise NotFound(f"no calibration record with id {record_id}")
    if rec.kind not in CERTIFIED_KINDS:
        raise LimsError(f"record {record_id} is a {rec.kind}: certificates are issued for "
                        "verification and calibration records only")
    if rec.outcome != "pass":
        raise LimsError(f"record {record_id} failed: no certificate for a failed instrument")
    inst = session.get(Instrument, rec.instrument_id)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    if font_file is not None:
        if not Path(font_file).is_file():
            raise LimsError(f"font file {font_file} does not exist")
        font: tuple[str, int] | None = (str(font_file), 0)
    else:
        font = font_finder()
    warning = ""
    if font is not None:
        try:
            pdf.add_font("cjk", "", font[0], collection_font_number=font[1])
            family = "cjk"
        except Exception as exc:  # a broken font file: fall back rather than fail
            font, warning = None, f"CJK font {font[0]} unusable ({exc}); English-only certificate"
    if font is None:
        family = "helvetica"
        warning = warning or "no CJK font found (install fonts-noto-cjk); English-only certificate"
    zh = font is not None
    zh_title, en_title = TITLES[rec.kind]
    pdf.set_font(family, size=18)
    pdf.cell(0, 12, f"{zh_title}  {en_title}" if zh else en_title, align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(family, size=11)
    for k, v in _rows(rec, inst, zh):
        pdf.cell(60, 8, k, border=1)
        pdf.cell(0, 8, v if zh else _latin(v), border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(family, size=12)
    pdf.cell(0, 8, "检定结果 Results" if zh else "Results", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    for c in rec.report.get("checks", []):
        mark = "OK" if c.get("passed") else "FAIL"
        text = f"{mark}  {c.get('name', '')}: {c.get('message', '')}"
        pdf.multi_cell(0, 5, text if zh else _latin(text), new_x="LMARGIN", new_y="NEXT")
    ref = rec.report.get("reference", {})
    if ref.get("source"):
        pdf.ln(2)
        src = f"Reference data: {ref.get('source')} ({ref.get('edition', '')})"
        pdf.multi_cell(0, 5, src if zh else _latin(src), new_x="LMARGIN", new_y="NEXT")
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return Certificate(path, rec.id, zh, warning)
