"""Management: alert response times per grid group and month against the 10-minute target."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboards import charts, data, export, identity
from dashboards import i18n as fmt
from dashboards.i18n import t
from lims.timeutil import now

identity.guard("management")
st.title(t("page.alerts"))
this_year = now().year
year = st.selectbox(t("year"), list(range(this_year, this_year - 5, -1)), key="alerts_year")
rows = data.alert_report(data.db_key(), year)
if not rows:
    st.info(t("alerts.none"))
    st.stop()
n = sum(r.alerts for r in rows)
within = sum(r.within_target for r in rows)
target = max(r.target_minutes for r in rows)
worst = max((r.worst_minutes for r in rows if r.worst_minutes is not None), default=None)
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("alerts.alerts"), fmt.num(n))
c2.metric(t("alerts.share", target=fmt.num(target)), fmt.pct(within / n if n else None))
c3.metric(t("alerts.not_arrived"), fmt.num(n - sum(r.arrived for r in rows)))
c4.metric(t("alerts.worst"), fmt.duration(worst * 60 if worst is not None else None))

fig = go.Figure()
for g in sorted({r.grid_group for r in rows}):
    rs = [r for r in rows if r.grid_group == g]
    fig.add_trace(go.Scatter(x=[r.month for r in rs], y=[r.median_minutes for r in rs],
                             mode="lines+markers", name=g))
fig.add_hline(y=target, line={"color": charts.BAD, "dash": "dash"},
              annotation_text=t("alerts.target", target=fmt.num(target)))
fig.update_layout(height=380, margin={"t": 30}, yaxis={"title": t("alerts.median_min")},
                  xaxis={"title": t("month")}, legend={"orientation": "h"})
st.plotly_chart(fig, width="stretch")
table = [{t("breakdown.grid_group"): r.grid_group, t("month"): r.month,
          t("alerts.alerts"): r.alerts, t("alerts.acknowledged"): r.acknowledged,
          t("alerts.arrived"): r.arrived, t("alerts.within"): r.within_target,
          t("alerts.share_col"): None if r.share_within_target is None
          else round(r.share_within_target * 100, 1),
          t("alerts.median_min"): r.median_minutes, t("alerts.worst_min"): r.worst_minutes,
          t("alerts.median_ack"): r.median_ack_minutes} for r in rows]
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, f"alerts_{year}", key="alerts")

st.subheader(t("handling.title"), help=t("handling.help"))
handling = data.case_handling(data.db_key(), year)
if not handling:
    st.info(t("handling.none"))
else:
    h_table = [{t("breakdown.grid_group"): r.grid_group, t("month"): r.month,
                t("handling.cases"): r.cases, t("handling.on_time"): r.on_time,
                t("handling.late"): r.late, t("handling.lacking"): r.lacking_evidence,
                t("handling.open"): r.open,
                t("handling.share"): None if r.share_on_time is None
                else round(r.share_on_time * 100, 1)} for r in handling]
    st.dataframe(h_table, hide_index=True, width="stretch")
    export.buttons(h_table, f"case_handling_{year}", key="handling")
