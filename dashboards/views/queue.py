"""Lab: the verification queue — results whose instrument verdict disagrees with the engine's,
and suspicious screens still waiting for their re-test. A wrong result can be voided here."""

from __future__ import annotations

import streamlit as st

from dashboards import data, export, identity, widgets
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from lims.errors import LimsError
from lims.intake import corrections

identity.guard("lab")
st.title(t("page.queue"))
st.caption(t("queue.caption"))
rows = data.verification_queue(data.db_key())
if not rows:
    st.success(t("queue.empty"))
    st.stop()
c1, c2 = st.columns(2)
c1.metric(t("queue.why.mismatch"), sum(1 for r in rows if r["why"] == "mismatch"))
c2.metric(t("queue.why.suspicious"), sum(1 for r in rows if r["why"] == "suspicious"))
table = [{"ID": r["id"], t("queue.why"): t(f"queue.why.{r['why']}"),
          t("cal.tested_at"): fmt.moment(r["tested_at"]), t("market"): r["market"] or "—",
          t("field.sample_code"): r["sample"], t("field.commodity"): fmt.name(r),
          t("method"): r["method"], t("cal.serial"): r["serial_no"] or "—",
          t("verdict"): widgets.verdict_chip(r["verdict"]),
          t("queue.instrument_said"): widgets.verdict_chip(r["instrument_verdict"])
          if r["instrument_verdict"] else "—",
          t("cal.state"): t(f"result_status.{r['status']}")} for r in rows]
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, "verification_queue", key="queue")

a = identity.actor()
if a is not None and a.can("results.review"):
    with st.form("queue_void"):
        st.subheader(t("queue.void_title"))
        ids = [r["id"] for r in rows]
        sample_of = {r["id"]: r["sample"] for r in rows}
        rid = st.selectbox("ID", ids, key="queue_void_id",
                           format_func=labeller(ids, lambda i: f"{i} · {sample_of[i]}"))
        reason = st.text_input(t("reason"), key="queue_void_reason")
        if st.form_submit_button(t("cal.void"), type="primary"):
            try:
                with data.session() as s:
                    corrections.void_result(session=s, actor=a, result_id=rid, reason=reason)
            except LimsError as exc:
                st.error(str(exc))
            else:
                data.clear()
                st.rerun()
