"""Lab: daily QC — record today's run (control values → verdict, ``dashboards.qc_run``), then the
Levey–Jennings chart of a control series with Westgard violations marked."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, export, identity, qc_run
from dashboards.i18n import t
from lims.errors import LimsError

identity.guard("lab")
st.title(t("page.qc"))
db = data.db_key()
qc_run.form(db)   # today's run: control values → Westgard verdict
with_qc = data.qc_series(db)
if not with_qc:
    st.info(t("qc.none"))
    st.stop()
labels = {i: f"{s} · {c}" + (f" · {t('qc.channel')} {ch}" if ch else "")
          for i, (s, c, ch) in enumerate(with_qc)}
pick = st.selectbox(t("qc.series"), list(labels), format_func=labels.get, key="qc_series")
serial, control, channel = with_qc[pick]
try:
    res = data.qc_check(db, serial, control, channel)
except LimsError as exc:
    st.warning(str(exc))
    st.stop()

STATUS = {"ok": ("✓", "success"), "warning": ("!", "warning"), "reject": ("✗", "error")}
symbol, kind = STATUS.get(res["status"], ("•", "info"))
getattr(st, kind)(f"{symbol} {t('qc.status.' + res['status'])}")
chart = res["chart"]
points = chart["points"]
flags: dict[int, list[str]] = {}
for v in res["violations"]:
    for p in v["points"]:
        flags.setdefault(p["index"], []).append(v["rule"])
base = chart["baseline"]
if points:
    st.plotly_chart(charts.levey_jennings(
        [p["value"] for p in points], [p["label"] for p in points], base["mean"], base["sd"],
        [", ".join(flags[p["index"]]) if p["index"] in flags else None for p in points],
        {"mean": t("qc.mean"), "value": t("qc.value")}), width="stretch")
c1, c2, c3 = st.columns(3)
c1.metric(t("qc.mean"), f"{base['mean']:.4g}")
c2.metric("SD", f"{base['sd']:.3g}")
c3.metric(t("qc.baseline_n"), base["n"])
st.subheader(t("qc.violations"))
table = [{t("qc.rule"): v["rule"], t("qc.severity"): t("qc.sev." + v["severity"]),
          t("qc.points"): ", ".join(str(p["label"]) for p in v["points"])}
         for v in res["violations"]]
if table:
    st.dataframe(table, hide_index=True, width="stretch")
    export.buttons(table, f"qc_{serial}", key="qc")
else:
    st.success(t("qc.no_violations"))
st.caption(t("qc.source", source=str(res.get("reference", {}).get("source", ""))))
