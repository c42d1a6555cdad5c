"""Management: pass rate per market, week by week, with Wilson 95 % intervals."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, export, filters, identity
from dashboards import i18n as fmt
from dashboards.i18n import t

identity.guard("management")
st.title(t("page.pass_rates"))
f = filters.render()
rows = data.market_week_rows(f)
if not rows:
    st.info(t("no_data"))
    st.stop()

pooled = charts.pooled_by_week(rows)
tested = sum(r["tested"] for r in pooled)
passed = sum(r["passed"] for r in pooled)
lo, hi = charts.wilson_interval(passed, tested)
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("overall"), fmt.pct(passed / tested if tested else None))
c2.metric(t("ci"), f"{fmt.pct(lo)} – {fmt.pct(hi)}")
c3.metric(t("tested"), fmt.num(tested))
c4.metric(t("failed"), fmt.num(tested - passed))

n_markets = len({r["market_id"] for r in rows})
per_market = st.toggle(t("trend.per_market"), value=n_markets <= 6, key="trend_per_market")
labels = {k: t(k) for k in ("ci", "pass_rate", "tested", "failed", "week")} | {"all": t("all")}
st.plotly_chart(charts.trend(rows, per_market, labels, fmt.plotly_date_format()),
                width="stretch")
st.caption(t("trend.caption"))

table = [{t("market"): r["market"], t("week"): fmt.week(r["week_start"]),
          t("tested"): r["tested"], t("failed"): r["failed"],
          t("pass_rate"): round(r["pass_rate"] * 100, 1),
          t("ci_low"): round(r["ci_low"] * 100, 1), t("ci_high"): round(r["ci_high"] * 100, 1)}
         for r in rows]
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, "pass_rates", key="pass_rates")
