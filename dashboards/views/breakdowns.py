"""Management: pass rates by commodity, analyte, method, county, grid group, market kind."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from lims.reporting.reports import BREAKDOWNS

identity.guard("management")
st.title(t("page.breakdowns"))
f = filters.render()
by = st.segmented_control(t("breakdown.by"), [b for b in BREAKDOWNS if b != "market"],
                          format_func=labeller(BREAKDOWNS, lambda b: t(f"breakdown.{b}")),
                          default="commodity",
                          key="breakdown_by") or "commodity"
rows = data.breakdown(data.db_key(), by, *filters.args(f))
rows = [r for r in rows if r["tested"]]
if not rows:
    st.info(t("no_data"))
    st.stop()

names = [fmt.name(r) if by != "market_kind" else t(f"market_kind.{r['key']}") for r in rows]
labels = {"pass_rate": t("pass_rate"), "tested": t("tested"), "failed": t("failed")}
st.plotly_chart(charts.bars(rows, names, labels), width="stretch")
table = [{t(f"breakdown.{by}"): n, t("tested"): r["tested"], t("failed"): r["failed"],
          t("pass_rate"): round(r["pass_rate"] * 100, 1),
          t("ci_low"): round(r["ci_low"] * 100, 1), t("ci_high"): round(r["ci_high"] * 100, 1)}
         for n, r in zip(names, rows, strict=True)]
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, f"breakdown_{by}", key="breakdown")
