"""Management: p-chart of the weekly fail proportion per market, with 3σ control limits."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, drill, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import t

identity.guard("management")
st.title(t("page.control_chart"))
st.caption(t("pchart.caption"))
f = filters.render()
# cached by data version and role (issue 17): the summary, then the one market picked
key, tf = drill.cache_key(), data.trend_filter(f)
flagged, markets = drill.p_chart_summary(key, tf)
if not markets:
    st.info(t("no_data"))
    st.stop()
markets = {m: (name if m is not None else t("market.none")) for m, name in markets.items()}

if flagged:
    st.error(t("pchart.out_of_control", n=len(flagged)))
    table = [{t("market"): markets[a["market_id"]], t("pchart.high_weeks"): a["high"],
              t("pchart.weeks"): a["weeks"], t("pchart.centre"): fmt.pct(a["centre"]),
              t("pchart.last_high"): fmt.week(a["last_high"])} for a in flagged]
    st.dataframe(table, hide_index=True, width="stretch")
    export.buttons(table, "out_of_control", key="ooc")
else:
    st.success(t("pchart.in_control"))

high = {a["market_id"] for a in flagged}
order = [a["market_id"] for a in flagged] + [m for m in markets if m not in high]
market_id = st.selectbox(t("market"), order, format_func=markets.get, key="pchart_market")
mine = drill.p_chart_market(key, tf, market_id)
labels = {"ucl": t("pchart.ucl"), "lcl": t("pchart.lcl"), "centre": t("pchart.centre"),
          "p": t("pchart.p"), "tested": t("tested"), "failed": t("failed"), "week": t("week")}
st.plotly_chart(charts.p_chart(mine, labels, fmt.plotly_date_format()), width="stretch")
st.caption(t("pchart.legend"))
