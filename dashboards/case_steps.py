"""The step forms of an open case on the cases page (dashboards/views/cases.py): when it happened
and a note (shared), then vendor told / sale suspended / objection, the confirmatory lab result,
the disposal, the public notice and closing. Each refusal of the service is shown under the field
it names. Services: lims.enforcement.cases and lims.enforcement.confirmation (as the CLI's
``lims case …``)."""

from __future__ import annotations

import streamlit as st

from dashboards import data
from dashboards.form_fields import Slots, latest_allowed, moment_input
from dashboards.i18n import labeller, lang, t
from lims.enforcement import cases as svc
from lims.enforcement import confirmation
from lims.enforcement.rules import load_enforcement_rules
from lims.errors import LimsError
from lims.security.auth import Actor
from lims.wire.cases import CasePublic

FLASH = "case_flash"


def show_flash() -> None:
    if flash := st.session_state.pop(FLASH, None):
        getattr(st, flash[0])(flash[1])


def _done(message: str, level: str = "success") -> None:
    data.clear()
    st.session_state[FLASH] = (level, message)
    st.rerun()


class _Step:
    """One case's step forms, sharing the "when" and "note" fields."""

    def __init__(self, view: CasePublic, a: Actor) -> None:
        self.view, self.a, self.cid = view, a, view.id
        self.when = moment_input(t("case.when"), f"case_at_{self.cid}")
        self.when_slot = st.empty()
        self.note = st.text_input(t("case.note"), key=f"case_note_{self.cid}")

    def slots(self, time_field: str = "at") -> Slots:
        s = Slots()
        s.attach(t("case.when"), self.when_slot, time_field)
        return s

    def run(self, slots: Slots, fn, time_field: str = "at", **kw):
        """Call the service with the shared time; a refusal goes under its field. Returns the
        service's answer, or None when it refused."""
        if self.when is None:
            slots.error(time_field, t("form.time_missing"))
            return None
        if self.when > latest_allowed():
            slots.error(time_field, t("form.future"))
            return None
        kw[time_field] = self.when
        try:
            with data.session() as s:
                return fn(session=s, actor=self.a, case_id=self.cid, **kw)
        except LimsError as exc:
            slots.show(exc)
            return None

    # -- the steps --------------------------------------------------------------------------
    def quick(self) -> None:
        """Vendor told, sale suspended, vendor objects: buttons using the shared fields."""
        v = self.view
        c1, c2, c3 = st.columns(3)
        notify = v.result_received_at is None and c1.button(
            t("case.do.notify"), key="case_notify", width="stretch")
        suspend = v.sale_suspended_at is None and c2.button(
            t("case.do.suspend"), key="case_suspend", width="stretch")
        objection = v.result_received_at is not None and v.objection_accepted is None and \
            c3.button(t("case.do.object"), key="case_object", width="stretch")
        slots = self.slots()
        slots.add("", "_")
        if notify and self.run(slots, svc.notify_vendor, note=self.note):
            _done(t("case.done.notify"))
        if suspend and self.run(slots, svc.suspend_sale, note=self.note):
            _done(t("case.done.suspend"))
        if objection and (d := self.run(slots, svc.lodge_objection, note=self.note)):
            _done(t("case.objection_accepted" if d.accepted else "case.objection_refused",
                    reason=d.reason), "success" if d.accepted else "warning")

    def lab_result(self) -> None:
        labs = [m for m in data.methods(data.db_key()) if not m.get("is_rapid")]
        with st.form(f"case_confirm_form_{self.cid}"):
            st.markdown(f"**{t('case.lab_result')}**")
            st.caption(t("case.lab_result_help"))
            slots = self.slots("tested_at")
            codes = [m["code"] for m in labs]
            names = {m["code"]: m.get(f"name_{lang()}") or m["code"] for m in labs}
            method = st.selectbox(t("case.lab_method"), codes, key="case_lab_method",
                                  format_func=labeller(codes, lambda c: f"{c} · {names[c]}"))
            slots.add(t("case.lab_method"), "method")
            analyte = st.text_input(t("case.analyte"), key="case_analyte",
                                    placeholder=t("case.analyte_hint"))
            slots.add(t("case.analyte"), "analyte")
            value = st.number_input(t("case.value"), min_value=0.0, value=None,
                                    format="%.4f", key="case_value")
            slots.add(t("case.value"), "value")
            unit = st.text_input(t("case.unit"), value="mg/kg", key="case_unit")
            slots.add(t("case.unit"), "unit")
            standard = st.text_input(t("case.standard"), key="case_standard",
                                     placeholder=t("case.standard_hint"))
            slots.add(t("case.standard"), "standard")
            go = st.form_submit_button(t("case.do.confirm"), key="case_confirm", type="primary")
            slots.add("", "_")
        if not go:
            return
        if not analyte.strip():
            slots.error("analyte", t("case.analyte_missing"))
            return
        if value is None:
            slots.error("value", t("case.value_missing"))
            return
        out = self.run(slots, confirmation.record_confirmatory, time_field="tested_at",
                       method=method, analyte=analyte.strip(), value=float(value),
                       unit=unit.strip() or "mg/kg", standard=standard.strip() or None)
        if out is not None and out.held:
            _done(t("case.done.confirm_held", verdict=t(f"verdict.{out.verdict}")), "warning")
        elif out is not None:
            _done(t("case.done.confirm", verdict=t(f"verdict.{out.verdict}"),
                    outcome=t(f"case.outcome.{out.case_outcome or 'pending'}")))

    def disposal(self, disposals: dict[str, dict[str, str]]) -> None:
        with st.form(f"case_disposal_form_{self.cid}"):
            keys = list(disposals)
            slots = self.slots()
            choice = st.selectbox(t("case.disposal"), keys, key="case_disposal",
                                  format_func=labeller(keys, lambda k: disposals[k].get(lang(), k)))
            slots.add(t("case.disposal"), "disposal")
            go = st.form_submit_button(t("case.do.dispose"), key="case_dispose")
            slots.add("", "_")
        if go and self.run(slots, svc.record_disposal, disposal=choice, note=self.note):
            _done(t("case.done.dispose"))

    def notice(self) -> None:
        with st.form(f"case_notice_form_{self.cid}"):
            slots = self.slots()
            text = st.text_area(t("case.notice_text"), key="case_notice_text",
                                placeholder=t("case.notice_hint"))
            slots.add(t("case.notice_text"), "text")
            go = st.form_submit_button(t("case.do.notice"), key="case_notice")
            slots.add("", "_")
        if go and self.run(slots, svc.publish_notice, text=text):
            _done(t("case.done.notice"))

    def close(self) -> None:
        """Close: the service decides the outcome (the lab's, or uncontested once the objection
        window ran out) and refuses, naming why, when there is none yet."""
        with st.form(f"case_close_form_{self.cid}"):
            slots = self.slots()
            st.caption(t("case.close_help"))
            reason = st.text_input(t("case.close_reason"), key="case_close_reason")
            slots.add(t("case.close_reason"), "reason")
            go = st.form_submit_button(t("case.do.close"), key="case_close")
            slots.add("", "_")
        if go and (c := self.run(slots, svc.close_case, reason=reason or self.note)):
            _done(t("case.done.close", outcome=t(f"case.outcome.{c.outcome or 'pending'}")))


def step_forms(view: CasePublic, a: Actor) -> None:
    """Every step of an open case, for an actor who may manage cases."""
    try:
        disposals = load_enforcement_rules().disposals
    except LimsError as exc:  # a broken enforcement.toml (ConfigError names the file and key)
        st.error(str(exc))
        return
    st.subheader(t("case.next"))
    step = _Step(view, a)
    step.quick()
    step.lab_result()
    step.disposal(disposals)
    step.notice()
    step.close()
