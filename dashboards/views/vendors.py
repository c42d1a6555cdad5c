"""Management: vendor credit grades A–D, how they moved, and this month's sampling plan."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboards import charts, data, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import t

identity.guard("management")
st.title(t("page.vendors"))
f = filters.render()
db = data.db_key()
dist, moves = data.grades(db, f["county"], f["market_ids"], f["start"], f["end"])
if not dist:
    st.info(t("vendors.none"))
    st.stop()
GRADES = "ABCD"
colours = {"A": charts.OK, "B": "#0969da", "C": charts.WARN, "D": charts.BAD}
cols = st.columns(4)
for col, g in zip(cols, GRADES, strict=True):
    col.metric(f"{g} · {t('grade.' + g)}", fmt.num(dist.get(g, 0)))
fig = go.Figure(go.Bar(x=[f"{g} · {t('grade.' + g)}" for g in GRADES],
                       y=[dist.get(g, 0) for g in GRADES],
                       marker={"color": [colours[g] for g in GRADES]},
                       text=[dist.get(g, 0) for g in GRADES]))
fig.update_layout(height=300, margin={"t": 20}, yaxis={"title": t("vendors.count")})
st.plotly_chart(fig, width="stretch")

st.subheader(t("vendors.moves"))
matrix = moves["matrix"]
if matrix:
    st.dataframe([{t("vendors.from"): p, **{g: matrix.get((p, g), 0) for g in GRADES}}
                  for p in GRADES], hide_index=True)
    up = sum(n for (p, g), n in matrix.items() if g < p)
    down = sum(n for (p, g), n in matrix.items() if g > p)
    st.caption(t("vendors.moves_caption", up=up, down=down))
    table = [{t("ref.at"): fmt.moment(m["computed_at"]), t("market"): m["market"],
              t("field.vendor"): f"{m['stall']} {m['name']}", t("vendors.from"): m["previous"],
              t("vendors.to"): m["grade"],
              t("reason_col"): (m.get("reason_zh") or m["reason"]) if fmt.lang() == "zh"
              else m["reason"]} for m in moves["latest"]]
    st.dataframe(table, hide_index=True, width="stretch")
    export.buttons(table, "grade_moves", key="grade_moves")
else:
    st.caption(t("vendors.no_moves"))

st.subheader(t("vendors.plan"))
market_ids = list(f["market_ids"]) or [None]
plan = [r for m in market_ids for r in data.sampling_plan(db, m)]
nm = data.names(db)
plan_table = [{t("market"): nm["markets"].get(r.market_id, "—"),
               t("field.vendor"): f"{r.stall} {r.name}", t("grade"): r.grade,
               t("vendors.per_month"): r.per_month, t("vendors.tested"): r.tested_this_month,
               t("vendors.due"): r.due} for r in plan]
st.dataframe(plan_table[:500], hide_index=True, width="stretch")
export.buttons(plan_table, "sampling_plan", key="plan")
