"""Management: vendor credit grades A–D, how they moved, and the vendors with this month's plan.

At province scale (40 000 vendors, issue 17) the page shows counts per grade with the change in
the period, the latest moves, and a searchable vendor table read one page at a time from SQL;
the whole list is written to CSV only when someone downloads it.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

from dashboards import charts, drill, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import t
from lims.reporting import vendor_table

PAGE_SIZE = 50
GRADES = "ABCD"

identity.guard("management")
st.title(t("page.vendors"))
f = filters.render()
key = drill.cache_key()
dist, moves = drill.grades(key, f["county"], f["market_ids"], f["start"], f["end"])
if not dist:
    st.info(t("vendors.none"))
    st.stop()
colours = {"A": charts.OK, "B": "#0969da", "C": charts.WARN, "D": charts.BAD}
matrix = moves["matrix"]
change = vendor_table.grade_changes(matrix)
cols = st.columns(4)
for col, g in zip(cols, GRADES, strict=True):
    col.metric(f"{g} · {t('grade.' + g)}", fmt.num(dist.get(g, 0)),
               delta=change.get(g) or None, delta_color="off")
fig = go.Figure(go.Bar(x=[f"{g} · {t('grade.' + g)}" for g in GRADES],
                       y=[dist.get(g, 0) for g in GRADES],
                       marker={"color": [colours[g] for g in GRADES]},
                       text=[dist.get(g, 0) for g in GRADES]))
fig.update_layout(height=300, margin={"t": 20}, yaxis={"title": t("vendors.count")})
st.plotly_chart(fig, width="stretch")

st.subheader(t("vendors.moves"))
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

st.subheader(t("vendors.list"))
st.caption(t("vendors.plan"))
c1, c2 = st.columns([3, 2])
search = c1.text_input(t("vendors.search"), key="vendor_search", max_chars=100)
picked = c2.segmented_control(t("vendors.grade_filter"), list(GRADES), selection_mode="multi",
                              key="vendor_grades") or []
q = vendor_table.VendorQuery(county=f["county"], market_ids=f["market_ids"], search=search,
                             grades=tuple(sorted(picked)))
total = drill.vendor_count(key, q)
pages = max(1, math.ceil(total / PAGE_SIZE))
if st.session_state.get("vendor_page_no", 1) > pages:
    st.session_state["vendor_page_no"] = 1
page_no = st.number_input(t("vendors.page_no"), min_value=1, max_value=pages, step=1,
                          key="vendor_page_no")
rows = drill.vendor_page(key, q, (int(page_no) - 1) * PAGE_SIZE, PAGE_SIZE)
header = [t("market"), t("field.vendor"), t("grade"), t("vendors.per_month"),
          t("vendors.tested"), t("vendors.due")]


def cells(r: dict) -> list:
    return [r["market"], f"{r['stall']} {r['name']}".strip(), r["grade"], r["per_month"],
            r["tested_this_month"], r["due"]]


st.dataframe([dict(zip(header, cells(r), strict=True)) for r in rows], hide_index=True,
             width="stretch")
first = (int(page_no) - 1) * PAGE_SIZE + 1 if rows else 0
st.caption(t("vendors.page_caption", first=first, last=first + len(rows) - 1 if rows else 0,
             total=fmt.num(total)))
st.download_button(t("vendors.download_all"), drill.vendor_csv(q, header, cells),
                   file_name="vendors.csv", mime="text/csv", key="vendors_csv",
                   disabled=not total, on_click="ignore")
