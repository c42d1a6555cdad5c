"""The held-results table with accept/void actions (lims.intake.review)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, export, widgets
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError


def held_table_and_actions(held: list[dict]) -> None:
    cols = [t(k) for k in ("cal.tested_at", "cal.serial", "field.sample_code", "market",
                           "field.commodity", "method", "verdict", "cal.state")]
    chips = {v: widgets.verdict_chip(v) for v in {h["verdict"] for h in held}}
    states = {c: t(f"cal.state.{c}") for c in {h["calibration_state"] for h in held}}
    table = [dict(zip(["ID", *cols], (h["id"], fmt.moment(h["tested_at"]), h["serial_no"],
                                      h["sample"], h["market"], h["commodity"], h["method"],
                                      chips[h["verdict"]], states[h["calibration_state"]]),
                      strict=True)) for h in held]   # labels once, not per row (500 rows)
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
