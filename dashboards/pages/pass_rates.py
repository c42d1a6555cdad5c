"""Management: pass rate per market, week by week, with Wilson 95 % intervals."""

from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go
import streamlit as st

from dashboards import data
from dashboards.i18n import lang, t

st.title(t("page.pass_rates"))
key = data.db_key()
opts = data.filter_options(key)

c1, c2, c3, c4 = st.columns([1, 2, 2, 2])
counties = [None, *opts["counties"]]
county = c1.selectbox(t("filter.county"), counties, format_func=lambda c: t("all") if c is None else c,
                      key="f_county")
markets = [m for m in opts["markets"] if county is None or m["county"] == county]
market_ids = c2.multiselect(t("filter.markets"), [m["id"] for m in markets],
                            format_func={m["id"]: m["name"] for m in markets}.get, key="f_markets")
name_key = "name_zh" if lang() == "zh" else "name_en"
com_names = {c["id"]: c[name_key] for c in opts["commodities"]}
commodity_ids = c3.multiselect(t("filter.commodities"), list(com_names), format_func=com_names.get,
                               key="f_commodities")
today = date.today()
period = c4.date_input(t("filter.period"), (today - timedelta(days=365), today), key="f_period")
start, end = (period if isinstance(period, tuple) and len(period) == 2 else (None, None))

rows = data.pass_rates(key, county, tuple(market_ids), tuple(commodity_ids), start, end)
if not rows:
    st.info(t("no_data"))
    st.stop()

tested = sum(r["tested"] for r in rows)
passed = sum(r["passed"] for r in rows)
st.metric(t("overall"), f"{passed / tested:.1%}" if tested else "—", help=f"{t('tested')}: {tested}")

fig = go.Figure()
by_market: dict[str, list[dict]] = {}
for r in rows:
    by_market.setdefault(r["market"], []).append(r)
for name, rs in by_market.items():
    fig.add_trace(go.Scatter(
        x=[r["week_start"] for r in rs], y=[r["pass_rate"] for r in rs], mode="lines+markers",
        name=name,
        error_y={"type": "data", "symmetric": False,
                 "array": [r["ci_high"] - r["pass_rate"] for r in rs],
                 "arrayminus": [r["pass_rate"] - r["ci_low"] for r in rs], "thickness": 1},
        customdata=[[r["tested"], r["failed"]] for r in rs],
        hovertemplate=f"%{{x}}<br>{t('pass_rate')} %{{y:.1%}}<br>{t('tested')} %{{customdata[0]}}"
                      f"<br>{t('failed')} %{{customdata[1]}}<extra>{name}</extra>"))
fig.update_layout(yaxis={"tickformat": ".0%", "title": t("pass_rate"), "range": [0, 1.05]},
                  xaxis={"title": t("week")}, height=480, legend={"orientation": "h"})
st.plotly_chart(fig, use_container_width=True)

st.dataframe(
    [{t("market"): r["market"], t("week"): r["week_start"].isoformat(), t("tested"): r["tested"],
      t("failed"): r["failed"], t("pass_rate"): round(r["pass_rate"] * 100, 1),
      t("ci"): f"{r['ci_low']:.1%} – {r['ci_high']:.1%}"} for r in rows],
    hide_index=True, use_container_width=True)
