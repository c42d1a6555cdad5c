"""The monthly management report as a PDF, with its charts.

Charts are drawn with matplotlib (Agg backend) and placed in the PDF with fpdf2. Plotly's own image
export (kaleido) needs a Chrome it downloads itself, which field machines and CI do not have;
matplotlib needs nothing but a CJK font for Chinese labels (Noto Sans CJK or WenQuanYi, found on
the system). Labels come from the caller (the app's string table), so this module holds no UI text.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from sqlmodel import Session

from lims.errors import LimsError
from lims.reporting import coverage, reports, stats, weighting
from lims.reporting.stats import TrendFilter, wilson_interval

CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@cache
def cjk_font() -> Path:
    for p in CJK_FONTS:
        if Path(p).exists():
            return Path(p)
    found = sorted(Path("/usr/share/fonts").rglob("*CJK*")) if Path("/usr/share/fonts").exists() \
        else []
    if found:
        return found[0]
    raise LimsError("no CJK font found for the PDF report: install fonts-noto-cjk "
                    "(apt-get install fonts-noto-cjk)")


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


@dataclass
class MonthlyData:
    month: date
    start: date
    end: date
    weekly: list[dict]        # pooled per week
    by_market: list[dict]     # worst first
    by_commodity: list[dict]  # worst first
    out_of_control: list[dict]
    instruments: list[dict]
    tested: int
    passed: int
    grades: dict[str, int]
    alerts: dict[str, float | int | None]
    handling: dict[str, int] | None = None   # case handling scores of the month
    coverage: list[coverage.CoverageRow] | None = None   # by county, then by grid group
    weighted: list[weighting.WeightedRate] | None = None  # per market, raw and weighted


def gather(*, session: Session, month: date, county: str | None = None) -> MonthlyData:
    start, end = month_bounds(month)
    f = TrendFilter(county=county, start=start, end=end)
    rows = stats.pass_rate_by_market_week(session=session, filters=f)
    weekly: dict[date, list[int]] = {}
    for r in rows:
        w = weekly.setdefault(r["week_start"], [0, 0])
        w[0] += r["passed"]
        w[1] += r["tested"]
    pooled = []
    for wk in sorted(weekly):
        p, n = weekly[wk]
        lo, hi = wilson_interval(p, n)
        pooled.append({"week_start": wk, "passed": p, "tested": n,
                       "pass_rate": p / n if n else math.nan, "ci_low": lo, "ci_high": hi})
    # the p-chart looks back 12 weeks so that a month's weeks are judged against a baseline
    history = stats.pass_rate_by_market_week(
        session=session, filters=TrendFilter(county=county, start=start - timedelta(weeks=12),
                                             end=end))
    ooc = list(reports.out_of_control(
        [p for p in reports.p_chart(history) if p["week_start"] >= start - timedelta(days=6)]))
    return MonthlyData(
        month=start, start=start, end=end, weekly=pooled,
        by_market=[r for r in reports.breakdown(session=session, filters=f, by="market")
                   if r["tested"]],
        by_commodity=[r for r in reports.breakdown(session=session, filters=f, by="commodity")
                      if r["tested"]],
        out_of_control=ooc, instruments=reports.instrument_status(session=session, on=end),
        tested=sum(p["tested"] for p in pooled), passed=sum(p["passed"] for p in pooled),
        grades=reports.grade_distribution(session=session, county=county),
        alerts=_alerts(session, start), handling=_handling(session, start),
        coverage=[r for g in coverage.GROUPS for r in coverage.coverage(
            session=session, period="month", start=start, end=end, group=g, county=county)],
        weighted=weighting.weighted_pass_rates(session=session, start=start, end=end,
                                               county=county))


def _alerts(session: Session, month: date) -> dict[str, float | int | None]:
    """The month's alert response over every grid group (count, within target, worst)."""
    from lims.enforcement import alerts

    rows = alerts.response_report(session=session, month=f"{month:%Y-%m}")
    n = sum(r.alerts for r in rows)
    worst = [r.worst_minutes for r in rows if r.worst_minutes is not None]
    return {"alerts": n, "within": sum(r.within_target for r in rows),
            "share": sum(r.within_target for r in rows) / n if n else None,
            "worst": max(worst) if worst else None,
            "target": max((r.target_minutes for r in rows), default=None)}


def _handling(session: Session, month: date) -> dict[str, int]:
    """The month's cases scored on their handling, summed over grid groups (issue 15)."""
    from lims.enforcement import scoring

    rows = [r for r in scoring.handling_report(session=session, year=month.year)
            if r.month == f"{month:%Y-%m}"]
    return {k: sum(getattr(r, k) for r in rows)
            for k in ("cases", "on_time", "late", "lacking_evidence", "open")}


def _figure_png(draw, width_in: float = 7.0, height_in: float = 3.0) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    font = cjk_font()
    font_manager.fontManager.addfont(str(font))
    family = font_manager.FontProperties(fname=str(font)).get_name()
    with plt.rc_context({"font.family": family, "axes.unicode_minus": False, "font.size": 9}):
        fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=150)
        try:
            draw(ax)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
        finally:
            plt.close(fig)
    return buf.getvalue()


def _trend_png(d: MonthlyData, labels: dict) -> bytes:
    def draw(ax):
        x = [p["week_start"] for p in d.weekly]
        y = [p["pass_rate"] * 100 for p in d.weekly]
        ax.fill_between(x, [p["ci_low"] * 100 for p in d.weekly],
                        [p["ci_high"] * 100 for p in d.weekly], alpha=0.2, color="#0969da",
                        label=labels["ci"])
        ax.plot(x, y, marker="o", color="#0969da", label=labels["pass_rate"])
        ax.set_ylabel(labels["pass_rate"] + " (%)")
        ax.set_xlabel(labels["week"])
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left")
    return _figure_png(draw)


def _bars_png(rows: list[dict], names: list[str], labels: dict) -> bytes:
    rows, names = rows[:12], names[:12]

    def draw(ax):
        y = list(range(len(rows)))[::-1]
        rates = [r["pass_rate"] * 100 for r in rows]
        colours = ["#cf222e" if v < 90 else "#bf8700" if v < 97 else "#1a7f37" for v in rates]
        err = [[max(0.0, v - r["ci_low"] * 100) for v, r in zip(rates, rows, strict=True)],
               [max(0.0, r["ci_high"] * 100 - v) for v, r in zip(rates, rows, strict=True)]]
        ax.barh(y, rates, color=colours, xerr=err, capsize=2)
        ax.set_yticks(y, names)
        ax.set_xlim(max(0, min(rates + [100]) - 10), 100.5)
        ax.set_xlabel(labels["pass_rate"] + " (%)")
        ax.grid(axis="x", alpha=0.3)
    return _figure_png(draw, height_in=max(2.0, 0.28 * len(rows) + 0.8))


def render_pdf(d: MonthlyData, labels: dict[str, str], lang: str = "zh") -> bytes:
    """The report as PDF bytes. ``labels`` maps the keys used below to text in ``lang``."""
    from fpdf import FPDF

    def pct(v: float) -> str:
        return "—" if v is None or math.isnan(v) else f"{v * 100:.1f}%"

    def nm(r: dict) -> str:
        return r.get(f"name_{lang}") or r.get("name_zh") or "—"

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", "", str(cjk_font()))
    pdf.add_page()
    pdf.set_font("cjk", size=18)
    pdf.cell(0, 10, labels["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 6, labels["period"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    lo, hi = wilson_interval(d.passed, d.tested)
    rate = d.passed / d.tested if d.tested else math.nan
    pdf.set_font("cjk", size=12)
    pdf.multi_cell(0, 7, f"{labels['tested']}: {d.tested}    {labels['pass_rate']}: {pct(rate)}"
                         f"    {labels['ci']}: {pct(lo)} – {pct(hi)}    "
                         f"{labels['failed']}: {d.tested - d.passed}", new_x="LMARGIN", new_y="NEXT")
    if not d.tested:
        pdf.ln(4)
        pdf.cell(0, 8, labels["no_data"], new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.ln(2)
        pdf.set_font("cjk", size=13)
        pdf.cell(0, 8, labels["trend"], new_x="LMARGIN", new_y="NEXT")
        pdf.image(io.BytesIO(_trend_png(d, labels)), w=180)
        pdf.cell(0, 8, labels["by_commodity"], new_x="LMARGIN", new_y="NEXT")
        pdf.image(io.BytesIO(_bars_png(d.by_commodity, [nm(r) for r in d.by_commodity], labels)),
                  w=180)
        pdf.add_page()
        pdf.set_font("cjk", size=13)
        pdf.cell(0, 8, labels["by_market"], new_x="LMARGIN", new_y="NEXT")
        _table(pdf, [labels["market"], labels["tested"], labels["failed"], labels["pass_rate"],
                     labels["ci"]],
               [[nm(r), str(r["tested"]), str(r["failed"]), pct(r["pass_rate"]),
                 f"{pct(r['ci_low'])} – {pct(r['ci_high'])}"] for r in d.by_market[:25]],
               (70, 22, 22, 28, 48))
        pdf.ln(3)
        pdf.set_font("cjk", size=13)
        pdf.cell(0, 8, labels["out_of_control"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=10)
        if d.out_of_control:
            _table(pdf, [labels["market"], labels["high_weeks"]],
                   [[a["market"], str(a["high"])] for a in d.out_of_control], (100, 40))
        else:
            pdf.cell(0, 7, labels["in_control"], new_x="LMARGIN", new_y="NEXT")
    _coverage_section(pdf, d, labels, pct)
    pdf.ln(3)
    pdf.set_font("cjk", size=13)
    pdf.cell(0, 8, labels["grades"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 7, "    ".join(f"{g}: {d.grades.get(g, 0)}" for g in "ABCD"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("cjk", size=13)
    pdf.cell(0, 8, labels["alerts"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    a = d.alerts
    pdf.multi_cell(0, 7, labels["alerts_line"].format(
        n=a["alerts"], within=a["within"], share=pct(a["share"]),
        worst="—" if a["worst"] is None else f"{a['worst']:.0f}",
        target="—" if a["target"] is None else f"{a['target']:g}"),
        new_x="LMARGIN", new_y="NEXT")
    if d.handling and "handling_line" in labels:
        pdf.multi_cell(0, 7, labels["handling_line"].format(**d.handling),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("cjk", size=13)
    pdf.cell(0, 8, labels["instruments"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    counts: dict[str, int] = {}
    for i in d.instruments:
        counts[i["state"]] = counts.get(i["state"], 0) + 1
    pdf.multi_cell(0, 7, "    ".join(f"{labels['state.' + k]}: {v}" for k, v in
                                     sorted(counts.items())) or "—",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _coverage_section(pdf, d: MonthlyData, labels: dict, pct) -> None:
    """Coverage against the sampling plan per county and grid group, and each market's raw and
    grade-weighted pass rate (``lims.reporting.coverage``, ``lims.reporting.weighting``)."""
    if d.coverage is None:
        return
    pdf.ln(3)
    pdf.set_font("cjk", size=13)
    pdf.cell(0, 8, labels["coverage"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(0, 5, labels["coverage_explain"], new_x="LMARGIN", new_y="NEXT")
    head = [labels["coverage_group"], labels["markets_covered"], labels["stalls_covered"],
            labels["stalls_on_plan"], labels["plan_share"]]
    _table(pdf, head, [[r.name or labels["no_grid"],
                        f"{r.markets_tested}/{r.markets} ({pct(r.market_share)})",
                        f"{r.stalls_tested}/{r.stalls} ({pct(r.stall_share)})",
                        f"{r.stalls_on_plan}/{r.stalls}",
                        f"{r.toward_plan:.0f}/{r.planned:.0f} ({pct(r.plan_share)})"]
                       for r in d.coverage], (46, 36, 36, 30, 42))
    if not d.weighted:
        return
    pdf.ln(3)
    pdf.set_font("cjk", size=13)
    pdf.cell(0, 8, labels["weighted"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(0, 5, labels["weighted_explain"], new_x="LMARGIN", new_y="NEXT")
    rows = []
    for r in d.weighted[:25]:
        e = r.weighted
        note = (labels["weighted_partial"].format(grades=", ".join(e.missing))
                if e.status == "partial" else labels["weighted_no_data"]
                if e.status == "no_data" else "")
        rows.append([r.market, str(r.tested), pct(r.raw_rate), pct(e.rate),
                     f"{pct(e.low)} – {pct(e.high)}" if e.rate is not None else "—", note])
    _table(pdf, [labels["market"], labels["tested"], labels["raw_rate"], labels["weighted_rate"],
                 labels["ci"], labels["note"]], rows, (44, 16, 24, 24, 36, 46))


def _table(pdf, head: list[str], rows: list[list[str]], widths: tuple[int, ...]) -> None:
    pdf.set_font("cjk", size=10)
    pdf.set_fill_color(230, 236, 245)
    for h, w in zip(head, widths, strict=True):
        pdf.cell(w, 7, h, border=1, fill=True)
    pdf.ln()
    for r in rows:
        for v, w in zip(r, widths, strict=True):
            pdf.cell(w, 6, v[:40], border=1)
        pdf.ln()
