"""Management: market × week heatmap of pass rates."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import t

identity.guard("management")
st.title(t("page.heatmap"))
f = filters.render(period_default_days=120)
rows = data.market_week_rows(f)
if not rows:
    st.info(t("no_data"))
    st.stop()
labels = {"pass_rate": t("pass_rate"), "week": t("week")}
st.plotly_chart(charts.heatmap(rows, labels, fmt.week), width="stretch")
st.caption(t("heatmap.caption"))

weeks = sorted({r["week_start"] for r in rows})
grid: dict[str, dict] = {}
for r in rows:
    grid.setdefault(r["market"], {t("market"): r["market"]})[fmt.week(r["week_start"])] = round(
        r["pass_rate"] * 100, 1)
table = [{t("market"): g[t("market")], **{fmt.week(w): g.get(fmt.week(w)) for w in weeks}}
         for g in grid.values()]
with st.expander(t("table")):
    st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, "heatmap", key="heatmap")
