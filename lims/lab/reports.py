"""Lab test reports (检验报告, a certificate of analysis) for a sample's confirmatory results.

One report per sample: the sample (code, market, stall, commodity, when and by whom taken), each
confirmatory (non-rapid) result that is not voided — method and standard, pesticide, value with
unit, the MRL it was judged against (standard, edition, confirmed or not), verdict, who tested and
who released it — a QR to the public verification page, and page numbers. Bilingual.

**Versions.** The report's version is 1 plus the number of corrections and voids recorded (audit
events ``result.correct`` / ``result.void``) on the sample's confirmatory results: correcting a
result reissues the report under a new version, and the QR of an older printout leads to a page
that says it is superseded (``report_status``). The QR carries the signed slip claim of the
deciding result (``lims.field.signing``) plus ``report=N``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from urllib.parse import urlencode

import sqlalchemy as sa
from fpdf import FPDF
from sqlmodel import Session, select

from lims.errors import LimsError, NotFound
from lims.field import signing
from lims.field.slips import qr_image
from lims.intake.retests import COUNTED
from lims.metrology.certificate import find_cjk_font
from lims.models import (
    Analyte,
    AuditEvent,
    Commodity,
    Market,
    Method,
    Sample,
    TestResult,
    Threshold,
    Vendor,
)
from lims.timeutil import local_tz, now

VERDICT = {"compliant": ("合格", "compliant"), "noncompliant": ("不合格", "noncompliant"),
           "invalid": ("无效", "invalid"), "positive": ("阳性", "positive"),
           "negative": ("阴性", "negative")}
VERSIONING_ACTIONS = ("result.correct", "result.void")


@dataclass(frozen=True)
class ReportLine:
    result_id: int
    method: str
    standard: str
    analyte_zh: str
    analyte_en: str
    value: float | None
    unit: str
    mrl: str
    verdict: str
    tested_by: str
    tested_at: datetime
    released_by: str


@dataclass
class LabReport:
    code: str
    commodity_zh: str
    commodity_en: str
    market: str
    stall: str
    taken_at: datetime
    taken_by: str
    version: int
    issued_at: datetime
    lines: list[ReportLine] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """The sample's verdict: noncompliant if any line is."""
        vs = [ln.verdict for ln in self.lines]
        return "noncompliant" if "noncompliant" in vs else ("compliant" if vs and all(
            v == "compliant" for v in vs) else (vs[-1] if vs else "invalid"))


def _confirmatory(session: Session, sample_id: int):
    return list(session.exec(
        select(TestResult, Method, Analyte, Threshold)
        .join(Method, Method.id == TestResult.method_id)
        .join(Analyte, Analyte.id == TestResult.analyte_id, isouter=True)
        .join(Threshold, Threshold.id == TestResult.threshold_id, isouter=True)
        .where(TestResult.sample_id == sample_id, Method.is_rapid.is_(False))
        .order_by(TestResult.tested_at, TestResult.id)))


def _version(session: Session, result_ids: list[int]) -> int:
    if not result_ids:
        return 1
    n = session.execute(sa.select(sa.func.count()).select_from(AuditEvent.__table__).where(
        AuditEvent.action.in_(VERSIONING_ACTIONS),
        AuditEvent.entity == "test_result",
        AuditEvent.entity_id.in_([str(i) for i in result_ids]))).scalar_one()
    return 1 + int(n)


def _released_by(session: Session, result_id: int) -> str:
    ev = session.exec(select(AuditEvent).where(AuditEvent.entity == "test_result",
                                               AuditEvent.entity_id == str(result_id),
                                               AuditEvent.action.in_(("result.accept",
                                                                      "result.release")))
                      .order_by(AuditEvent.id.desc())).first()
    return ev.actor if ev else ""


def lab_report(*, session: Session, code: str) -> LabReport:
    """The report of sample ``code`` (NotFound without a confirmatory result)."""
    sample = session.exec(select(Sample).where(Sample.code == code.strip().upper())).first()
    if sample is None:
        raise NotFound(f"no sample with code {code!r}")
    rows = _confirmatory(session, sample.id)
    if not rows:
        raise NotFound(f"sample {sample.code} has no confirmatory (lab) result: a test report "
                       "is issued for lab methods only")
    commodity = session.get(Commodity, sample.commodity_id)
    market = session.get(Market, sample.market_id) if sample.market_id else None
    vendor = session.get(Vendor, sample.vendor_id) if sample.vendor_id else None
    report = LabReport(code=sample.code, commodity_zh=commodity.name_zh,
                       commodity_en=commodity.name_en, market=market.name if market else "",
                       stall=vendor.stall if vendor else "", taken_at=sample.taken_at,
                       taken_by=sample.taken_by,
                       version=_version(session, [r.id for r, *_ in rows]), issued_at=now())
    for r, m, a, th in rows:
        if r.status not in COUNTED:   # voided, or held (awaiting second-person release)
            continue
        mrl = (f"{th.value:g} {th.unit} ({th.standard}-{th.edition}"
               f"{'' if th.confirmed else ', unconfirmed / 未确认'})") if th else "—"
        report.lines.append(ReportLine(
            result_id=r.id, method=f"{m.name_zh} / {m.name_en}",
            standard=f"{m.standard}-{m.edition}" if m.edition else m.standard,
            analyte_zh=a.name_zh if a else "", analyte_en=a.name_en if a else "",
            value=r.computed_value, unit=r.computed_unit or "", mrl=mrl, verdict=r.verdict,
            tested_by=r.tested_by, tested_at=r.tested_at,
            released_by=_released_by(session, r.id)))
    if not report.lines:
        raise NotFound(f"sample {sample.code}: no released lab result (each is voided or awaits "
                       "second-person release); no report")
    return report


def report_url(rep: LabReport, base_url: str | None = None) -> str:
    """The QR's address: the signed claim of the last line, plus the report's version."""
    last = rep.lines[-1]
    return signing.signed_url(code=rep.code, verdict=last.verdict, tested_at=last.tested_at,
                              base_url=base_url) + "&" + urlencode({"report": rep.version})


def report_status(*, session: Session, code: str, version: int) -> tuple[str, int]:
    """("current" | "superseded", current version) of a printed report's version."""
    current = lab_report(session=session, code=code).version
    return ("current" if version >= current else "superseded"), current


def _fmt(ts: datetime) -> str:
    return ts.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M")


def report_pdf(*, session: Session, code: str, base_url: str | None = None) -> bytes:
    """The report as an A4 PDF (CJK font embedded; refused without one)."""
    rep = lab_report(session=session, code=code)
    font = find_cjk_font()
    if font is None:
        raise LimsError("no CJK font found (install fonts-noto-cjk): the report is bilingual")
    pdf = FPDF(format="A4")
    pdf.alias_nb_pages()
    pdf.add_font("cjk", "", font[0], collection_font_number=font[1])
    pdf.set_auto_page_break(auto=True, margin=18)

    def footer() -> None:
        pdf.set_y(-12)
        pdf.set_font("cjk", size=8)
        pdf.cell(0, 6, f"{rep.code} · 第 {pdf.page_no()} 页 共 {{nb}} 页 · Page {pdf.page_no()} "
                       "of {nb}", align="C")

    pdf.footer = footer
    pdf.add_page()
    pdf.set_font("cjk", size=17)
    pdf.cell(0, 10, "检验报告  Test report", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.cell(0, 6, f"第 {rep.version} 版 / version {rep.version} · 签发 issued "
                   f"{_fmt(rep.issued_at)}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    qr = BytesIO()
    qr_image(report_url(rep, base_url), box_size=4).save(qr, format="PNG")
    pdf.image(qr, x=160, y=28, w=35)
    verdict_zh, verdict_en = VERDICT.get(rep.verdict, (rep.verdict, rep.verdict))
    head = [("样品编号 Sample", rep.code), ("样品 Commodity", f"{rep.commodity_zh} / "
                                                             f"{rep.commodity_en}"),
            ("市场 Market", rep.market or "—"), ("摊位 Stall", rep.stall or "—"),
            ("抽样 Taken", f"{_fmt(rep.taken_at)} {rep.taken_by}".strip()),
            ("结论 Verdict", f"{verdict_zh} / {verdict_en}")]
    pdf.set_font("cjk", size=10)
    for k, v in head:
        pdf.cell(40, 7, k, border=1)
        pdf.cell(100, 7, v, border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    for i, ln in enumerate(rep.lines, start=1):
        vz, ve = VERDICT.get(ln.verdict, (ln.verdict, ln.verdict))
        value = "—" if ln.value is None else f"{ln.value:g} {ln.unit}"
        rows = [("项目 Analyte", f"{ln.analyte_zh} / {ln.analyte_en}"),
                ("方法 Method", ln.method), ("依据 Standard", ln.standard),
                ("结果 Result", value), ("限量 MRL", ln.mrl), ("判定 Verdict", f"{vz} / {ve}"),
                ("检验 Tested", f"{_fmt(ln.tested_at)} {ln.tested_by}".strip()),
                ("批准 Released", ln.released_by or "—")]
        pdf.set_font("cjk", size=11)
        pdf.cell(0, 7, f"{i}.", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9)
        for k, v in rows:
            pdf.cell(40, 6, k, border=1)
            pdf.multi_cell(0, 6, v, border=1, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.set_font("cjk", size=8)
    pdf.multi_cell(0, 5, "扫描二维码核验本报告;若结果更正,报告将换新版本,旧版作废。 Scan the QR "
                         "code to verify this report; a corrected result reissues it under a "
                         "new version and the old one is superseded.",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
