"""Lab / enforcement: open positive cases with their clocks, each case's timeline and next steps."""

from __future__ import annotations

import streamlit as st

from dashboards import attachments_panel, case_steps, data, export, identity
from dashboards import i18n as fmt
from dashboards.i18n import labeller, lang, t
from dashboards.identity import actor, plain
from lims.enforcement import cases as svc
from lims.timeutil import now

identity.guard("lab")
st.title(t("page.cases"))
case_steps.show_flash()
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
    d = step.details
    note = d.get("note") or d.get("reason") or d.get("text") or (
        t("case.lab_line", value=d.get("value"), unit=d.get("unit") or "",
          verdict=t(f"verdict.{d.get('verdict')}"))
        if step.kind == "confirmatory_result" else "")
    st.markdown(f"- **{fmt.moment(step.at)}** · {t('case.step.' + step.kind)} · "
                f"{plain(step.by)}" + (f" — {plain(str(note))}" if note else ""))

if view.objection_deadline is not None:
    st.caption(t("case.objection_until", at=fmt.moment(view.objection_deadline),
                 hours=fmt.num(view.objection_window_hours, 1)))
a = actor()
if view.status == "open" and a is not None and a.can(svc.PERMISSION):
    case_steps.step_forms(view, a)

# photos and scans: the case's (disposal evidence) and its sample's (lims.files.attachments)
st.subheader(t("attach.heading"))
attachments_panel.panel("case", view.id)
attachments_panel.panel("sample", attachments_panel.sample_of_case(view.id))
