"""Lab: record a verification, calibration or intermediate check with its readings and the
certificate file; the computed report, the certificate PDF and the uploaded file after saving.
Service: lims.metrology.calibration.record (as `lims calibration record`)."""

from __future__ import annotations

import json

import streamlit as st

from dashboards import data, filters, identity, widgets
from dashboards import i18n as fmt
from dashboards.form_messages import FieldErrors, moment_input, refuse_future
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError
from lims.metrology import attachments
from lims.metrology import calibration as cal
from lims.models.enums import CalibrationKind

_EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


def _download_name(stored: str, mime: str) -> str:
    """The stored file's name (its content hash) with the extension of its type."""
    name = stored.rsplit("/", 1)[-1]
    return name if "." in name else name + _EXTENSIONS.get(mime, "")

identity.guard("lab")
st.title(t("page.calibration_record"))
a = actor()
if a is None or not a.can("calibration.record"):
    st.warning(t("calrec.not_allowed"))
    st.stop()
db = data.db_key()
rows = data.instrument_status(db, filters.local_today())
if not rows:
    st.info(t("cal.no_instruments"))
    st.stop()

#: example readings per procedure (the shape `lims calibration record --readings` takes)
EXAMPLES = {
    "scale": {"instrument": {"max": 3100, "e": 0.1, "class": "II", "unit": "g"},
              "weighing": [{"load": 0, "indication": 0}, {"load": 1000, "indication": 1000.0},
                           {"load": 3100, "indication": 3100.1}],
              "eccentricity": [], "repeatability": []},
    "bp": {"unit": "mmHg", "points": [{"reference": 0, "indicated": 0},
                                      {"reference": 100, "indicated": 101},
                                      {"reference": 200, "indicated": 199}]},
    "analyzer": {"conditions": {"temperature_c": 22, "humidity_pct": 60},
                 "wavelength": [{"nominal_nm": 410, "measured_nm": 411}],
                 "channels": {"1": 0.51, "2": 0.52}},
    None: {},
}
ACCEPT = ["pdf", "png", "jpg", "jpeg"]

by_serial = {r["serial_no"]: r for r in rows}
serials = sorted(by_serial)
serial = st.selectbox(t("cal.instrument"), serials, key="calrec_instrument",
                      format_func=labeller(serials, lambda s: f"{s} · {by_serial[s]['model']} · "
                                           f"{t('instrument_kind.' + by_serial[s]['kind'])}"))
inst = by_serial[serial]
kinds = [k.value for k in CalibrationKind if k is not CalibrationKind.DAILY_QC]
kind = st.selectbox(t("cal.record_kind"), kinds, key="calrec_kind",
                    format_func=labeller(kinds, lambda k: t(f"cal_kind.{k}")))
procedure = cal.procedure_for(kind, inst["kind"])
st.caption(t(f"calrec.procedure.{procedure or 'manual'}"))

err = FieldErrors(aliases=dict.fromkeys(("scale", "bp", "analyzer", "record"), "readings")
                  | {"control_delta": "readings"})
with st.form(f"calrec_form_{procedure}"):
    performed_at = moment_input(t("calrec.performed_at"), "calrec_at")
    err.slot("performed_at")
    c1, c2 = st.columns(2)
    performed_by = c1.text_input(t("calrec.performed_by"), value=a.username, key="calrec_by")
    standard = c2.text_input(t("cal.standard"), key="calrec_standard",
                             placeholder=t("calrec.standard_hint"))
    equipment = st.text_input(t("calrec.reference_equipment"), key="calrec_equipment")
    outcome = None
    if procedure is None:
        outcome = st.radio(t("cal.outcome"), ["pass", "fail"], horizontal=True,
                           key="calrec_outcome", format_func=lambda o: t(f"calrec.{o}"))
        err.slot("outcome")
    readings_text = st.text_area(t("calrec.readings"), height=220, key=f"calrec_readings_{procedure}",
                                 value=json.dumps(EXAMPLES[procedure], ensure_ascii=False, indent=1),
                                 help=t("calrec.readings_help"))
    err.slot("readings")
    notes = st.text_input(t("calrec.notes"), key="calrec_notes")
    upload = st.file_uploader(t("calrec.certificate_file"), type=ACCEPT, key="calrec_file",
                              help=t("calrec.certificate_help",
                                     mb=attachments.MAX_BYTES // 1024 // 1024))
    err.slot("certificate")
    submitted = st.form_submit_button(t("calrec.save"), type="primary")
    err.slot("_form")
    if submitted:
        readings = None
        try:
            readings = json.loads(readings_text or "{}")
            if not isinstance(readings, dict):
                err.show("readings", t("calrec.readings_object"))
                readings = None
        except json.JSONDecodeError as exc:
            err.show("readings", t("calrec.readings_json", line=exc.lineno, msg=exc.msg))
        refuse_future(performed_at, "performed_at", err)
        if readings is not None and err.ok:
            try:
                with data.session() as s:
                    rec = cal.record(
                        session=s, actor=a, serial_no=serial, kind=kind, readings=readings,
                        performed_at=performed_at, performed_by=performed_by.strip() or None,
                        standard=standard.strip(), reference_equipment=equipment.strip(),
                        notes=notes.strip(), outcome=outcome,
                        certificate=upload.getvalue() if upload is not None else None,
                        certificate_name=upload.name if upload is not None else "")
                    saved = {"id": rec.id, "kind": rec.kind, "outcome": rec.outcome,
                             "report": rec.report, "due_date": rec.due_date,
                             "serial": serial, "file": rec.certificate_file,
                             "sha256": rec.certificate_sha256, "mime": rec.certificate_type}
            except LimsError as exc:
                err.show_exc(exc)
            else:
                data.clear()
                st.session_state["calrec_saved"] = saved

saved = st.session_state.get("calrec_saved")
if saved:
    st.subheader(t("calrec.report", id=saved["id"], serial=saved["serial"]))
    widgets.verdict_banner("compliant" if saved["outcome"] == "pass" else "noncompliant",
                           t(f"cal_kind.{saved['kind']}"), size_rem=3.0)
    if saved["due_date"]:
        st.markdown(t("calrec.due", day=fmt.day(saved["due_date"])))
    st.dataframe([{t("calrec.check"): c["name"], t("cal.outcome"): "✓" if c["passed"] else "✗",
                   t("calrec.message"): c["message"]} for c in saved["report"].get("checks", [])],
                 hide_index=True, width="stretch")
    ref = saved["report"].get("reference", {})
    if ref.get("source"):
        st.caption(t("qc.source", source=f"{ref['source']} {ref.get('edition', '')}".strip()))
    if saved["outcome"] == "pass" and saved["kind"] in ("verification", "calibration"):
        pdf = data.certificate(db, saved["id"])
        if pdf is not None:
            st.download_button(t("cal.certificate"), pdf, key="calrec_cert_pdf",
                               file_name=f"certificate_{saved['id']}.pdf", mime="application/pdf")
    if saved["file"]:
        try:
            stored = attachments.read_file(saved["file"], saved["sha256"])
        except LimsError as exc:
            st.error(str(exc))
        else:
            st.download_button(t("calrec.uploaded_file", sha=saved["sha256"][:12]), stored,
                               key="calrec_uploaded", mime=saved["mime"],
                               file_name=_download_name(saved["file"], saved["mime"]))
