"""Management: the monthly report (PDF with charts) and the month's tables for download."""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboards import data, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import lang, t
from lims.enforcement.rules import load_grade_rules
from lims.errors import LimsError
from lims.reporting import monthly_report

identity.guard("management")
st.title(t("page.report"))
f = filters.render()
today = filters.local_today()
months = []
m = today.replace(day=1)
for _ in range(12):
    months.append(m)
    m = (m.replace(day=1) - date.resolution).replace(day=1)
month = st.selectbox(t("month"), months, format_func=fmt.month, key="report_month")
start, end = monthly_report.month_bounds(month)


@st.cache_data(ttl=300, show_spinner=False)
def build(db: str, month: date, county: str | None, language: str) -> tuple[bytes, list, list]:
    with data.session() as s:
        d = monthly_report.gather(session=s, month=month, county=county)
    labels = {k: t(f"report.{k}") for k in (
        "trend", "by_commodity", "by_market", "out_of_control", "high_weeks", "in_control",
        "instruments", "grades", "alerts", "alerts_line", "handling_line")}
    labels |= {k: t(k) for k in ("tested", "failed", "pass_rate", "ci", "week", "market",
                                 "no_data")}
    labels |= {f"state.{s}": t(f"cal.state.{s}") for s in
               ("ok", "due_soon", "overdue", "failed", "unknown")}
    labels |= {"coverage": t("report.coverage"), "coverage_group": t("report.coverage_group"),
               "coverage_explain": t("coverage.explain", plan=" · ".join(
                   f"{g} {n}" for g, n in sorted(load_grade_rules().per_month.items()))),
               "markets_covered": t("coverage.market_share"),
               "stalls_covered": t("coverage.stall_share"), "stalls_on_plan": t("coverage.on_plan"),
               "plan_share": t("coverage.plan_share"), "no_grid": t("coverage.no_grid"),
               "weighted": t("weighted.title"), "weighted_explain": t("weighted.explain"),
               "raw_rate": t("weighted.raw"), "weighted_rate": t("weighted.rate"),
               "note": t("weighted.note"), "weighted_partial": t("weighted.partial"),
               "weighted_no_data": t("weighted.no_data")}
    labels["title"] = t("report.title", month=fmt.month(month))
    labels["period"] = f"{fmt.day(d.start)} – {fmt.day(d.end)}" + (
        f" · {county}" if county else "")
    pdf = monthly_report.render_pdf(d, labels, lang=language)
    return pdf, d.by_market, d.by_commodity


if st.button(t("report.make"), type="primary", key="report_make"):
    try:
        with st.spinner(t("report.making")):
            st.session_state["report_pdf"] = (month, f["county"], lang(),
                                              build(data.db_key(), month, f["county"], lang()))
    except LimsError as exc:
        st.error(str(exc))
made = st.session_state.get("report_pdf")
if made and made[:3] == (month, f["county"], lang()):
    pdf, by_market, by_commodity = made[3]
    st.download_button(t("report.download"), pdf, file_name=f"report_{month:%Y-%m}.pdf",
                       mime="application/pdf", key="report_download", type="primary")
    for title, rows, key in ((t("report.by_market"), by_market, "market"),
                             (t("report.by_commodity"), by_commodity, "commodity")):
        st.subheader(title)
        table = [{t("breakdown." + key): fmt.name(r), t("tested"): r["tested"],
                  t("failed"): r["failed"], t("pass_rate"): round(r["pass_rate"] * 100, 1),
                  t("ci_low"): round(r["ci_low"] * 100, 1),
                  t("ci_high"): round(r["ci_high"] * 100, 1)} for r in rows]
        st.dataframe(table, hide_index=True, width="stretch")
        export.buttons(table, f"{key}_{month:%Y-%m}", key=f"report_{key}")
else:
    st.caption(t("report.hint"))

st.subheader(t("report.results_title"))
opts = data.filter_options(data.db_key())
codes = {m["id"]: m["code"] for m in opts["markets"]}
market = codes.get(f["market_ids"][0]) if len(f["market_ids"]) == 1 else None
st.caption(t("report.results_hint", market=market or t("all")))
fmt_pick = st.radio(t("report.format"), ["xlsx", "csv"], horizontal=True, key="report_fmt")
if st.button(t("report.results_make"), key="report_results"):
    import io

    from lims.files import results_export

    out = io.BytesIO()
    try:
        with data.session() as s:
            n = results_export.export_results(session=s, actor=identity.actor(), out=out,
                                          fmt=fmt_pick, market=market, start=start, end=end)
    except LimsError as exc:
        st.error(str(exc))
    else:
        st.download_button(t("report.results_download", n=n), out.getvalue(),
                           file_name=f"results_{month:%Y-%m}.{fmt_pick}", key="report_results_dl")
