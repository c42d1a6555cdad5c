"""The held-results table with accept/void actions (lims.intake.review)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, export, widgets
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError


def held_table_and_actions(held: list[dict]) -> None:
    table = [{"ID": h["id"], t("cal.tested_at"): fmt.moment(h["tested_at"]),
              t("cal.serial"): h["serial_no"], t("field.sample_code"): h["sample"],
              t("market"): h["market"], t("field.commodity"): h["commodity"],
              t("method"): h["method"], t("verdict"): widgets.verdict_chip(h["verdict"]),
              t("cal.state"): t(f"cal.state.{h['calibration_state']}")} for h in held]
    st.dataframe(table, hide_index=True, width="stretch")
    export.buttons(table, "held_results", key="held")
    a = actor()
    if a is None or not a.can("results.review"):
        st.caption(t("cal.review_not_allowed"))
        return
    with st.form("review_form"):
        ids = st.multiselect(t("cal.pick_results"), [h["id"] for h in held], key="review_ids")
        decision = st.radio(t("cal.decision"), ["accept", "void"], horizontal=True,
                            format_func=labeller(["accept", "void"], lambda d: t(f"cal.{d}")),
                            key="review_decision")
        reason = st.text_input(t("reason"), key="review_reason")
        submitted = st.form_submit_button(t("cal.apply"), type="primary")
    if submitted and not ids:
        st.warning(t("cal.pick_some"))
    elif submitted:
        try:
            n = _apply(a, decision, ids, reason)
        except LimsError as exc:
            st.error(str(exc))
        else:
            data.clear()
            st.success(t("cal.applied", n=n))
            st.rerun()


def _apply(a, decision: str, ids: list[int], reason: str) -> int:
    """Accept or void each picked result in one transaction (all or none)."""
    from lims.intake import review

    fn = review.accept if decision == "accept" else review.void
    with data.session() as s:
        for rid in ids:
            fn(session=s, actor=a, result_id=rid, reason=reason)
    return len(ids)
