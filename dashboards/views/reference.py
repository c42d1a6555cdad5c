"""Lab: the reference data editor — thresholds, methods/kit cut-offs, instrument profiles."""

from __future__ import annotations

import json
import tomllib

import streamlit as st

from dashboards import data, export, identity
from dashboards import i18n as fmt
from dashboards.i18n import t
from dashboards.identity import actor
from lims.errors import LimsError
from lims.reference import editor as reference

identity.guard("lab")
st.title(t("page.reference"))
a = actor()
can_edit = a is not None and a.can("reference.edit")
if not can_edit:
    st.info(t("ref.read_only"))


def run(fn, **kwargs) -> bool:
    try:
        with data.session() as s:
            fn(session=s, actor=a, **kwargs)
    except LimsError as exc:
        st.error(str(exc))
        return False
    data.clear()
    st.success(t("ref.saved"))
    return True


def show_history(entity: str) -> None:
    with data.session() as s:
        events = reference.history(session=s, entity=entity)
    with st.expander(t("ref.history", n=len(events))):
        st.dataframe([{t("ref.at"): fmt.moment(e["at"]), t("ref.who"): e["actor"],
                       t("ref.action"): e["action"], "ID": e["entity_id"],
                       t("ref.old"): json.dumps(e["old"], ensure_ascii=False),
                       t("ref.new"): json.dumps(e["new"], ensure_ascii=False),
                       t("reason_col"): e["reason"]} for e in events],
                     hide_index=True, width="stretch")


tab_th, tab_me, tab_in = st.tabs([t("ref.thresholds"), t("ref.methods"), t("ref.instruments")])

with tab_th:
    with data.session() as s:
        rows = reference.list_thresholds(session=s)
    table = [{"ID": r["id"], t("ref.analyte"): fmt.name(r, "analyte"),
              t("field.commodity"): fmt.name(r, "commodity") if r["commodity_zh"]
              else r["commodity_category"],
              t("ref.standard"): f"{r['standard']}-{r['edition']}", t("ref.value"): r["value"],
              t("ref.unit"): r["unit"], t("ref.effective_from"): fmt.day(r["effective_from"]),
              t("ref.confirmed"): "✓" if r["confirmed"] else "?",
              t("ref.active"): "✓" if r["active"] else "✗", t("ref.source"): r["source"]}
             for r in rows]
    st.dataframe(table, hide_index=True, width="stretch")
    export.buttons(table, "thresholds", key="thresholds")
    if can_edit and rows:
        by_id = {r["id"]: r for r in rows}
        st.subheader(t("ref.edit_threshold"))
        tid = st.selectbox("ID", list(by_id), key="th_id", format_func=lambda i: (
                f"{i} · {fmt.name(by_id[i], 'analyte')} / "
                f"{fmt.name(by_id[i], 'commodity') if by_id[i]['commodity_zh'] else by_id[i]['commodity_category']}"
                f" · {by_id[i]['standard']}-{by_id[i]['edition']}"))
        with st.form("threshold_edit"):
            c1, c2 = st.columns(2)
            value = c1.number_input(t("ref.value"), min_value=0.0, format="%.4f", key=f"th_value_{tid}",
                                    value=float(by_id[tid]["value"]))
            confirmed = c2.checkbox(t("ref.confirmed"), value=by_id[tid]["confirmed"],
                                    key=f"th_confirmed_{tid}")
            source = st.text_input(t("ref.source"), value=by_id[tid]["source"], key=f"th_source_{tid}")
            reason = st.text_input(t("reason"), key=f"th_reason_{tid}")
            if st.form_submit_button(t("save"), type="primary"):
                run(reference.update_threshold, threshold_id=tid, reason=reason, value=value,
                    confirmed=confirmed, source=source)
    show_history("threshold")

with tab_me:
    methods = data.methods(data.db_key())
    st.dataframe([{t("method"): m["code"], t("ref.name"): fmt.name(m),
                   t("ref.standard"): f"{m['standard']}-{m['edition']}",
                   t("ref.kind"): t(f"method_kind.{m['kind']}"),
                   t("ref.params"): json.dumps(m["params"], ensure_ascii=False)}
                  for m in methods], hide_index=True, width="stretch")
    if can_edit and methods:
        by_code = {m["code"]: m for m in methods}
        st.subheader(t("ref.edit_method"))
        code = st.selectbox(t("method"), list(by_code), key="me_code")
        with st.form("method_edit"):
            text = st.text_area(t("ref.params_toml"), height=180, key=f"me_params_{code}",
                                value="\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}"
                                                for k, v in by_code[code]["params"].items()))
            reason = st.text_input(t("reason"), key="me_reason")
            if st.form_submit_button(t("save"), type="primary"):
                try:
                    params = tomllib.loads(text)
                except tomllib.TOMLDecodeError as exc:
                    st.error(t("ref.bad_toml", error=str(exc)))
                else:
                    run(reference.update_method_params, code=code, params=params, reason=reason)
    show_history("method")

with tab_in:
    with data.session() as s:
        instruments = reference.list_instruments(session=s)
    st.dataframe([{t("cal.serial"): i["serial_no"], t("cal.model"): i["model"],
                   t("cal.kind"): t(f"instrument_kind.{i['kind']}"), t("ref.driver"): i["driver"],
                   t("ref.profile"): i["profile"] or "", t("ref.location"): i["location"],
                   t("ref.interval"): i["calibration_interval_days"],
                   t("ref.port"): json.dumps(i["port_settings"], ensure_ascii=False),
                   t("ref.active"): "✓" if i["active"] else "✗"} for i in instruments],
                 hide_index=True, width="stretch")
    if can_edit and instruments:
        by_serial = {i["serial_no"]: i for i in instruments}
        st.subheader(t("ref.edit_instrument"))
        serial = st.selectbox(t("cal.serial"), list(by_serial), key="in_serial")
        with st.form("instrument_edit"):
            cur = by_serial[serial]
            c1, c2 = st.columns(2)
            profile = c1.text_input(t("ref.profile"), value=cur["profile"] or "", key=f"in_profile_{serial}")
            location = c2.text_input(t("ref.location"), value=cur["location"], key=f"in_location_{serial}")
            interval = c1.number_input(t("ref.interval"), 1, 3650, key=f"in_interval_{serial}",
                                       value=int(cur["calibration_interval_days"]))
            port = c2.text_input(t("ref.port"), key=f"in_port_{serial}",
                                 value=json.dumps(cur["port_settings"], ensure_ascii=False))
            reason = st.text_input(t("reason"), key=f"in_reason_{serial}")
            if st.form_submit_button(t("save"), type="primary"):
                try:
                    port_settings = json.loads(port or "{}")
                except json.JSONDecodeError as exc:
                    st.error(t("ref.bad_json", error=str(exc)))
                else:
                    run(reference.update_instrument, serial_no=serial, reason=reason,
                        profile=profile or None, location=location,
                        calibration_interval_days=int(interval), port_settings=port_settings)
    show_history("instrument")
