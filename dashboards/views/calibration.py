"""Lab: calibration status of every instrument, and the results the gate held for review."""

from __future__ import annotations

import streamlit as st

from dashboards import data, export, filters, identity, review_ui
from dashboards import i18n as fmt
from dashboards.i18n import t
from lims.listening import heartbeat
from lims.timeutil import now

identity.guard("lab")
st.title(t("page.calibration"))
db = data.db_key()
rows = data.instrument_status(db, filters.local_today())
if not rows:
    st.info(t("cal.no_instruments"))
    st.stop()

counts: dict[str, int] = {}
for r in rows:
    counts[r["state"]] = counts.get(r["state"], 0) + 1
cols = st.columns(5)
for col, state in zip(cols, ("failed", "overdue", "unknown", "due_soon", "ok"), strict=True):
    col.metric(t(f"cal.state.{state}"), counts.get(state, 0))

with data.session() as s:   # not cached: a listener that went down shows on the next rerun
    listeners = heartbeat.listener_status(session=s, at=now())


def listener_label(serial: str) -> str:
    st_ = listeners.get(serial, {"state": "never", "since": None})
    if st_["state"] == "silent":
        return "⚠ " + t("cal.listener.silent", since=fmt.moment(st_["since"]))
    return {"running": "✓ ", "never": "— "}[st_["state"]] + t(f"cal.listener.{st_['state']}")


ICON = {"failed": "✗", "overdue": "⚠", "unknown": "?", "due_soon": "◔", "ok": "✓"}
table = [{t("cal.serial"): r["serial_no"], t("cal.model"): r["model"],
          t("cal.kind"): t(f"instrument_kind.{r['kind']}"), t("market"): r["market"],
          t("cal.state"): f"{ICON.get(r['state'], '')} {t('cal.state.' + r['state'])}",
          t("cal.last"): fmt.day(r["last_at"]), t("cal.due"): fmt.day(r["due_date"]),
          t("cal.days_left"): r["days_left"], t("cal.held"): r["held"],
          t("cal.listener"): listener_label(r["serial_no"])} for r in rows]
st.dataframe(table, hide_index=True, width="stretch")
export.buttons(table, "calibration_status", key="cal_status")

with st.expander(t("cal.records")):
    serials = {r["id"]: r["serial_no"] for r in rows}
    iid = st.selectbox(t("cal.instrument"), list(serials), format_func=serials.get,
                       key="cal_records_instrument")
    recs = data.calibration_history(db, iid)
    st.dataframe([{"ID": c["id"], t("cal.record_kind"): c["kind"],
                   t("cal.tested_at"): fmt.moment(c["performed_at"]), t("ref.who"): c["performed_by"],
                   t("cal.standard"): c["standard"], t("cal.outcome"): c["outcome"],
                   t("cal.due"): fmt.day(c["due_date"])} for c in recs],
                 hide_index=True, width="stretch")
    passed = [c["id"] for c in recs if c["outcome"] == "pass"
              and c["kind"] in ("verification", "calibration")]
    if passed:
        rid = st.selectbox(t("cal.certificate_for"), passed, key="cal_cert_record")
        cert = data.certificate(db, rid) if st.button(t("cal.certificate_make"),
                                                      key="cal_cert_make") else None
        if cert is not None:
            st.download_button(t("cal.certificate"), cert, file_name=f"certificate_{rid}.pdf",
                               mime="application/pdf", key="cal_cert_download")

st.header(t("cal.held_title"))
with_held = [r for r in rows if r["held"]]
names = {None: t("all"), **{r["serial_no"]: f"{r['serial_no']} ({r['held']})" for r in with_held}}
serial = st.selectbox(t("cal.instrument"), list(names), format_func=names.get,
                      key="cal_instrument")
held = data.held_results(db, serial)
if not held:
    st.success(t("cal.no_held"))
    st.stop()
review_ui.held_table_and_actions(held)
