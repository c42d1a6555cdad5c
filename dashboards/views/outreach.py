"""Management: outreach figures per volunteer team and month (events, hours, people served …)."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboards import data, export, identity
from dashboards import i18n as fmt
from dashboards.i18n import t
from lims.timeutil import now

identity.guard("management")
st.title(t("page.outreach"))
st.page_link("views/outreach_events.py", label=t("page.outreach_events"),
             icon=":material/event:")   # where the events and hours below are recorded
this_year = now().year
year = st.selectbox(t("year"), list(range(this_year, this_year - 5, -1)), key="outreach_year")
rows = data.team_report(data.db_key(), year)
if not rows:
    st.info(t("outreach.none"))
    st.stop()
KEYS = ("events", "service_hours", "people_served", "samples_tested", "instruments_verified",
        "talks")
cols = st.columns(len(KEYS))
for col, key in zip(cols, KEYS, strict=True):
    col.metric(t(f"outreach.{key}"), fmt.num(sum(getattr(r, key) for r in rows),
                                             1 if key == "service_hours" else 0))
teams = {r.team_id: (r.registered_volunteers, r.active_volunteers) for r in rows}
st.caption(t("outreach.volunteers", teams=len(teams), registered=sum(v[0] for v in teams.values()),
             active=sum(v[1] for v in teams.values())))
months = sorted({r.period for r in rows})
fig = go.Figure()
for key in ("events", "service_hours"):
    fig.add_trace(go.Bar(x=months, y=[sum(getattr(r, key) for r in rows if r.period == m)
                                      for m in months], name=t(f"outreach.{key}")))
fig.update_layout(barmode="group", height=360, margin={"t": 20}, legend={"orientation": "h"})
st.plotly_chart(fig, width="stretch")
table = [{t("outreach.team"): r.team, t("month"): r.period,
          **{t(f"outreach.{k}"): getattr(r, k) for k in KEYS},
          t("outreach.volunteers_served"): r.volunteers_served} for r in rows]
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, f"outreach_{year}", key="outreach")
