"""Management: weekly pass rates with Wilson 95 % intervals, by county, or by market on drill-down.

At province scale the page reads county totals from the rollups (issue 17): one line each for
the worst and best few counties (or markets of one county), the rest summed as "other", and the
pooled rate of everything with its band; never one trace per market.
"""

from __future__ import annotations

import math

import streamlit as st

from dashboards import charts, drill, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import t

identity.guard("management")
st.title(t("page.pass_rates"))
f = filters.render()
tf, level = drill.drill_level(f, "trend_county")
tr = drill.trend(drill.cache_key(), tf, level, drill.TOP_N)
tested = sum(w["tested"] for w in tr.total)
if not tested:
    st.info(t("no_data"))
    st.stop()

passed = sum(w["passed"] for w in tr.total)
lo, hi = charts.wilson_interval(passed, tested)
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("overall"), fmt.pct(passed / tested))
c2.metric(t("ci"), f"{fmt.pct(lo)} – {fmt.pct(hi)}")
c3.metric(t("tested"), fmt.num(tested))
c4.metric(t("failed"), fmt.num(tested - passed))

lines = st.toggle(t("drill.per_group"), value=True, key="trend_per_market")
rows = [r | {"market": drill.group_label(level, s["key"], s["name"])}
        for s in tr.series for r in s["rows"]]
labels = {k: t(k) for k in ("ci", "pass_rate", "tested", "failed", "week")} | {"all": t("all")}
st.plotly_chart(charts.trend(rows, lines, labels, fmt.plotly_date_format()), width="stretch")
st.caption(t(f"drill.caption_{level}", n=drill.TOP_N, other=tr.other_groups))

col = t("filter.county") if level == "county" else t("market")


def pct(x: float) -> float | None:
    return None if math.isnan(x) else round(x * 100, 1)


table = [{col: drill.group_label(level, g["key"], g["name"]), t("tested"): g["tested"],
          t("failed"): g["failed"], t("pass_rate"): pct(g["pass_rate"]),
          t("ci_low"): pct(g["ci_low"]), t("ci_high"): pct(g["ci_high"])} for g in tr.groups]
st.caption(t("drill.table_caption", level=col))
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, f"pass_rates_{level}", key="pass_rates")
