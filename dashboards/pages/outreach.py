"""Management: outreach figures (events, people served, talks, samples tested) per month."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboards import data, export, filters
from dashboards import i18n as fmt
from dashboards.i18n import t

st.title(t("page.outreach"))
f = filters.render()
rows = data.outreach(data.db_key(), f["start"], f["end"])
if not rows:
    st.info(t("outreach.none"))
    st.stop()
cols = st.columns(4)
for col, key in zip(cols, ("events", "people_served", "talks", "samples"), strict=True):
    col.metric(t(f"outreach.{key}"), fmt.num(sum(r[key] for r in rows)))
fig = go.Figure()
for key in ("events", "samples"):
    fig.add_trace(go.Bar(x=[fmt.month(r["month"]) for r in rows], y=[r[key] for r in rows],
                         name=t(f"outreach.{key}")))
fig.update_layout(barmode="group", height=380, margin={"t": 20}, legend={"orientation": "h"})
st.plotly_chart(fig, width="stretch")
table = [{t("month"): fmt.month(r["month"]), **{t(f"outreach.{k}"): r[k] for k in
          ("events", "people_served", "talks", "samples")}} for r in rows]
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, "outreach", key="outreach")
