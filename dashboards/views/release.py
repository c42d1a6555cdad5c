"""Lab: the release queue — lab results awaiting second-person release (issue 19), with how long
each has waited; release one (not your own), or send it back to its recorder with a reason."""

from __future__ import annotations

import streamlit as st

from dashboards import data, identity, widgets
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from lims.errors import LimsError
from lims.lab import release

identity.guard("lab")
st.title(t("page.release"))
st.caption(t("release.caption"))
done = st.session_state.pop("release_done", None)
if done:
    st.success(done)
with data.session() as s:
    rows = release.pending(session=s)
if not rows:
    st.success(t("release.empty"))
    st.stop()
c1, c2, c3 = st.columns(3)
c1.metric(t("release.waiting"), sum(1 for r in rows if r["state"] == release.WAITING))
c2.metric(t("release.sent_back"), sum(1 for r in rows if r["state"] == release.SENT_BACK))
c3.metric(t("release.oldest"), f"{max(r['age_hours'] for r in rows):g}")


def _value(r: dict) -> str:
    return "—" if r["computed_value"] is None else \
        f"{r['computed_value']:g} {r['computed_unit'] or ''}".strip()


def _note(r: dict) -> str:
    parts = [f"{r['sent_back_by']}: {r['sent_back_reason']}"] if r["state"] == "sent_back" else []
    return " · ".join(parts + r["other_holds"]) or "—"


table = [{"ID": r["id"], t("release.state"): t(f"release.{r['state']}"),
          t("release.age"): r["age_hours"], t("field.sample_code"): r["sample"],
          t("field.commodity"): fmt.name(r, "commodity"),
          t("release.analyte"): fmt.name(r, "analyte"), t("method"): r["method"],
          t("release.value"): _value(r), t("verdict"): widgets.verdict_chip(r["verdict"]),
          t("release.tested_by"): r["tested_by"] or "—",
          t("cal.tested_at"): fmt.moment(r["tested_at"]), t("release.note"): _note(r)}
         for r in rows]
st.dataframe(table, hide_index=True, width="stretch")

a = identity.actor()
if a is None or not a.can(release.PERMISSION):
    st.info(t("release.no_permission"))
    st.stop()
ids = [r["id"] for r in rows]
by_id = {r["id"]: r for r in rows}
label = labeller(ids, lambda i: f"{i} · {by_id[i]['sample']} · {by_id[i]['method']} · "
                                f"{by_id[i]['tested_by']}")


def _act(fn, rid: int, reason: str, message: str) -> None:
    try:
        with data.session() as s:
            fn(session=s, actor=a, result_id=rid, reason=reason)
    except LimsError as exc:
        st.error(str(exc))
    else:
        data.clear()
        st.session_state["release_done"] = t(message, id=rid)
        st.rerun()


left, right = st.columns(2)
with left.form("release_form"):
    st.subheader(t("release.release_title"))
    rid = st.selectbox(t("release.pick"), ids, key="release_id", format_func=label)
    note = st.text_input(t("release.release_note"), key="release_note")
    if st.form_submit_button(t("release.release"), type="primary"):
        _act(release.release, rid, note, "release.released")
with right.form("send_back_form"):
    st.subheader(t("release.send_back_title"))
    bid = st.selectbox(t("release.pick"), ids, key="send_back_id", format_func=label)
    why = st.text_input(t("reason"), key="send_back_reason")
    if st.form_submit_button(t("release.send_back")):
        if not why.strip():
            st.error(t("release.reason_needed"))
        else:
            _act(release.send_back, bid, why, "release.sent")
