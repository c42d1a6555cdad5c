"""The daily-QC form of the QC page: an analyzer's control ΔA0 per channel → the run's verdict
(control range, channel agreement and the Westgard rules on the series). Service:
lims.metrology.calibration.record with kind daily_qc (as `lims calibration record --kind
daily_qc`)."""

from __future__ import annotations

import re

import streamlit as st

from dashboards import data, filters, widgets
from dashboards.form_messages import FieldErrors, moment_input, refuse_future
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError
from lims.metrology import calibration as cal

WESTGARD = {"ok": "success", "warning": "warning", "reject": "error"}


def _values(text: str, err: FieldErrors) -> dict[str, float]:
    """"0.50, 0.51" → {"1": 0.50, "2": 0.51}; a bad item is shown at the field."""
    out = {}
    items = [x for x in re.split(r"[\s,;，；]+", text.strip()) if x]
    for i, item in enumerate(items, start=1):
        try:
            out[str(i)] = float(item)
        except ValueError:
            err.show("control_delta", t("qcrun.bad_value", n=i, text=item))
    if not items:
        err.show("control_delta", t("qcrun.no_values"))
    return out


def form(db: str) -> None:
    a = actor()
    if a is None or not a.can("calibration.record"):
        return
    rows = data.instrument_status(db, filters.local_today())
    if not rows:
        return
    st.subheader(t("qcrun.title"))
    # analyzers first: daily QC is run on the enzyme-inhibition analyzers
    serials = sorted((r["serial_no"] for r in rows),
                     key=lambda s: (next(r["kind"] for r in rows if r["serial_no"] == s)
                                    != "pesticide_analyzer", s))
    err = FieldErrors(aliases={"daily_qc": "control_delta", "record": "control_delta"})
    with st.form("qcrun_form"):
        serial = st.selectbox(t("cal.instrument"), serials, key="qcrun_instrument",
                              format_func=labeller(serials, lambda s: s))
        at = moment_input(t("qcrun.at"), "qcrun_at")
        err.slot("performed_at")
        text = st.text_input(t("qcrun.values"), key="qcrun_values",
                             placeholder="0.50, 0.51, 0.49, 0.50", help=t("qcrun.values_help"))
        err.slot("control_delta")
        submitted = st.form_submit_button(t("qcrun.save"), type="primary")
        err.slot("_form")
        if submitted:
            values = _values(text, err)
            refuse_future(at, "performed_at", err)
            if err.ok:
                try:
                    with data.session() as s:
                        rec = cal.record(session=s, actor=a, serial_no=serial, kind="daily_qc",
                                         readings={"control_delta": values}, performed_at=at)
                        st.session_state["qcrun_saved"] = {
                            "id": rec.id, "serial": serial, "outcome": rec.outcome,
                            "checks": rec.report.get("checks", [])}
                except LimsError as exc:
                    err.show_exc(exc)
                else:
                    data.clear()
    saved = st.session_state.get("qcrun_saved")
    if saved:
        _verdict(saved)


def _verdict(saved: dict) -> None:
    widgets.verdict_banner("compliant" if saved["outcome"] == "pass" else "noncompliant",
                           t("qcrun.saved", id=saved["id"], serial=saved["serial"]),
                           size_rem=3.0)
    west = next((c for c in saved["checks"] if c["name"] == "Westgard"), None)
    if west is None:
        st.info(t("qcrun.no_baseline"))
    else:
        status = west["numbers"].get("status", "ok")
        getattr(st, WESTGARD.get(status, "info"))(
            t("qcrun.westgard", status=t(f"qc.status.{status}"), detail=west["message"]))
    st.dataframe([{t("calrec.check"): c["name"], t("cal.outcome"): "✓" if c["passed"] else "✗",
                   t("calrec.message"): c["message"]} for c in saved["checks"]],
                 hide_index=True, width="stretch")
