"""Lab / enforcement: open positive cases with their clocks, each case's timeline and next steps."""

from __future__ import annotations

import streamlit as st

from dashboards import data, export, identity
from dashboards import i18n as fmt
from dashboards.i18n import labeller, lang, t
from dashboards.identity import actor, plain
from lims.enforcement import cases as svc
from lims.enforcement.rules import load_enforcement_rules
from lims.errors import LimsError
from lims.timeutil import now

identity.guard("lab")
st.title(t("page.cases"))
db = data.db_key()
status = st.segmented_control(t("case.status"), ["open", "closed", "all"], default="open",
                              format_func=labeller(["open", "closed", "all"],
                                                   lambda s: t(f"case.status.{s}")),
                              key="case_status")
rows = data.cases(db, None if status in (None, "all") else status)
if not rows:
    st.info(t("case.none"))
    st.stop()
nm = data.names(db)
at = now()


def clock(c: dict) -> str:
    """Objection clock: time left in the window, or that it has passed / not started."""
    if c["status"] == "closed":
        return t("case.closed")
    if c["result_received_at"] is None:
        return t("case.clock_not_started")
    from datetime import timedelta

    left = c["result_received_at"] + timedelta(hours=c["objection_window_hours"]) - at
    if left.total_seconds() <= 0:
        return t("case.window_passed")
    return t("case.window_left", left=fmt.duration(left.total_seconds()))


li = 0 if lang() == "zh" else 1
table = [{"ID": c["id"], t("case.opened"): fmt.moment(c["opened_at"]),
          t("case.age"): fmt.duration((at - c["opened_at"]).total_seconds()),
          t("market"): nm["markets"].get(c["market_id"], "—"),
          t("field.vendor"): nm["vendors"].get(c["vendor_id"], t("field.resident")),
          t("field.commodity"): nm["commodities"].get(c["commodity_id"], ("—", "—"))[li],
          t("case.sale_suspended"): fmt.moment(c["sale_suspended_at"]),
          t("case.objection_clock"): clock(c),
          t("case.outcome"): t(f"case.outcome.{c['outcome'] or 'pending'}")} for c in rows]
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, "cases", key="cases")

case_id = st.selectbox(t("case.pick"), [c["id"] for c in rows], key="case_pick")
view = data.case_view(db, case_id)
st.subheader(t("case.timeline", id=view.id, code=view.sample_code))
for step in view.steps:
    note = step.details.get("note") or step.details.get("reason") or step.details.get("text") or ""
    st.markdown(f"- **{fmt.moment(step.at)}** · {t('case.step.' + step.kind)} · "
                f"{plain(step.by)}" + (f" — {plain(str(note))}" if note else ""))

a = actor()
if view.status == "open" and a is not None and a.can("cases.manage"):
    st.subheader(t("case.next"))
    try:
        disposals = load_enforcement_rules().disposals
    except LimsError as exc:  # a broken enforcement.toml (ConfigError names the file and key)
        st.error(str(exc))
        st.stop()
    c1, c2, c3 = st.columns(3)
    note = st.text_input(t("case.note"), key=f"case_note_{case_id}")

    def do(fn, **kw) -> None:
        try:
            with data.session() as s:
                fn(session=s, actor=a, case_id=case_id, **kw)
        except LimsError as exc:
            st.error(str(exc))
        else:
            data.clear()
            st.rerun()

    if view.result_received_at is None and c1.button(t("case.do.notify"), key="case_notify"):
        do(svc.notify_vendor, note=note)
    if view.sale_suspended_at is None and c2.button(t("case.do.suspend"), key="case_suspend"):
        do(svc.suspend_sale, note=note)
    if c3.button(t("case.do.object"), key="case_object"):
        do(svc.lodge_objection, note=note)
    d1, d2 = st.columns([2, 1])
    disposal = d1.selectbox(t("case.disposal"), list(disposals), key="case_disposal",
                            format_func=labeller(disposals, lambda k: disposals[k].get(lang(), k)))
    if d2.button(t("case.do.dispose"), key="case_dispose"):
        do(svc.record_disposal, disposal=disposal, note=note)
    if st.button(t("case.do.close"), key="case_close"):
        do(svc.close_case, reason=note)
