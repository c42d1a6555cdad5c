"""Management: county × week (or worst-N market × week) heatmap of pass rates.

At most a few hundred rows at a time (issue 17): every county, or on drill-down the markets of
one county (or those picked in the sidebar) with the lowest pass rate over the period.
"""

from __future__ import annotations

import streamlit as st

from dashboards import charts, drill, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import t

identity.guard("management")
st.title(t("page.heatmap"))
f = filters.render(period_default_days=120)
tf, level = drill.drill_level(f, "heatmap_county")
key = drill.cache_key()
limit = max(drill.HEATMAP_ROWS)
if level == "market":
    limit = st.segmented_control(t("heatmap.rows"), drill.HEATMAP_ROWS, default=50,
                                 key="heatmap_rows") or 50
cells = drill.heatmap(key, tf, level, limit)
if not cells:
    st.info(t("no_data"))
    st.stop()
rows = [c | {"market": drill.group_label(level, c["key"], c["name"])} for c in cells]
labels = {"pass_rate": t("pass_rate"), "week": t("week")}
st.plotly_chart(charts.heatmap(rows, labels, fmt.week), width="stretch")
st.caption(t("heatmap.caption"))
if level == "market":
    groups = [g for g in drill.ranking(key, tf, level) if g["tested"]]
    shown = len({c["key"] for c in cells})
    st.caption(t("heatmap.worst_caption", shown=shown, total=len(groups)))

col = t("filter.county") if level == "county" else t("market")
weeks = sorted({r["week_start"] for r in rows})
grid: dict[str, dict] = {}
for r in rows:
    grid.setdefault(r["market"], {col: r["market"]})[fmt.week(r["week_start"])] = round(
        r["pass_rate"] * 100, 1)
table = [{col: g[col], **{fmt.week(w): g.get(fmt.week(w)) for w in weeks}}
         for g in grid.values()]
with st.expander(t("table")):
    st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, f"heatmap_{level}", key="heatmap")
