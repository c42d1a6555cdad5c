"""Outreach: residents' scales and blood-pressure meters checked at an event — readings in, a
verdict per device and the resident's slip out. Services: lims.metrology.metering (as `lims
metering check`) and lims.metrology.meter_slip."""

from __future__ import annotations

import streamlit as st

from dashboards import data, identity, widgets
from dashboards import i18n as fmt
from dashboards.form_messages import FieldErrors, moment_input, parse_pairs, refuse_future
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError
from lims.metrology import metering
from lims.metrology.meter_slip import meter_slip_pdf
from lims.outreach import events

identity.guard("outreach")
widgets.touch_css()
st.title(t("page.meter_check"))
a = actor()
if a is None or not a.can("metering.record"):
    st.warning(t("meter.not_allowed"))
    st.stop()
with data.session() as s:
    evs = [{"id": e.id, "name": e.name, "place": e.place, "starts_at": e.starts_at}
           for e in events.list_events(session=s)]
if not evs:
    st.info(t("meter.no_events"))
    st.stop()
by_id = {e["id"]: e for e in evs}
ids = list(by_id)
event_id = st.selectbox(t("meter.event"), ids, key="meter_event", format_func=labeller(
    ids, lambda i: f"{by_id[i]['name']} · {fmt.day(by_id[i]['starts_at'].date())}"
                   + (f" · {by_id[i]['place']}" if by_id[i]["place"] else "")))
kinds = list(metering.KINDS)
kind = st.radio(t("meter.kind"), kinds, horizontal=True, key="meter_kind",
                format_func=labeller(kinds, lambda k: t(f"meter.kind.{k}")))
scale = kind != "bp_meter"

err = FieldErrors(aliases={"check": "readings"})
with st.form(f"meter_form_{kind}"):
    c1, c2 = st.columns(2)
    make = c1.text_input(t("meter.make"), key=f"meter_make_{kind}")
    model = c2.text_input(t("meter.model"), key=f"meter_model_{kind}")
    unit, cap, e = "mmHg", None, None
    if scale:
        body = kind == "body_scale"
        c1, c2, c3 = st.columns(3)
        units = ["kg", "g"]
        unit = c1.selectbox(t("meter.unit"), units, index=0 if body else 1,
                            key=f"meter_unit_{kind}")
        cap = c2.number_input(t("meter.max"), min_value=0.0, value=150.0 if body else 5000.0,
                              key=f"meter_max_{kind}", format="%g")
        e = c3.number_input(t("meter.e"), min_value=0.0, value=0.1 if body else 1.0,
                            key=f"meter_e_{kind}", format="%g")
        err.slot("instrument")
    points = st.text_area(t(f"meter.points.{'scale' if scale else 'bp'}"), height=120,
                          key=f"meter_points_{kind}",
                          placeholder="20 20.1\n60 60" if scale else "0 0\n100 102\n200 197",
                          help=t("meter.points_help"))
    err.slot("readings")
    checked_at = moment_input(t("meter.checked_at"), f"meter_at_{kind}")
    err.slot("checked_at")
    consent = st.checkbox(t("meter.consent"), value=True, key=f"meter_consent_{kind}")
    submitted = st.form_submit_button(t("meter.save"), type="primary")
    err.slot("_form")
    if submitted:
        if scale and (not cap or not e):
            err.show("instrument", t("meter.need_max_e"))
        pairs = parse_pairs(points, err)
        refuse_future(checked_at, "checked_at", err)
        if err.ok:
            if scale:
                readings = {"instrument": {"max": cap, "e": e, "unit": unit},
                            "weighing": [{"load": x, "indication": y} for x, y in pairs]}
            else:
                readings = {"unit": unit, "points": [{"reference": x, "indicated": y}
                                                     for x, y in pairs]}
            try:
                with data.session() as s:
                    mc = metering.record_check(session=s, actor=a, event_id=event_id, kind=kind,
                                               readings=readings, make=make.strip(),
                                               model=model.strip(), consent=consent,
                                               checked_at=checked_at)
                    st.session_state["meter_last"] = mc.id
            except LimsError as exc:
                err.show_exc(exc)
            else:
                data.clear()

with data.session() as s:
    checks = metering.checks_of_event(session=s, event_id=event_id)
    rows = [{"id": c.id, "kind": c.kind, "make": " ".join(x for x in (c.make, c.model) if x),
             "outcome": c.outcome, "at": c.checked_at, "checks": c.report.get("checks", [])}
            for c in checks]
    last_id = st.session_state.get("meter_last")
    last = next((r for r in rows if r["id"] == last_id), None)
    slip = meter_slip_pdf(session=s, check_id=last_id) if last else None
if last is not None:
    widgets.verdict_banner("compliant" if last["outcome"] == "pass" else "noncompliant",
                           t(f"meter.kind.{last['kind']}") + (f" · {last['make']}"
                                                              if last["make"] else ""),
                           size_rem=3.0)
    for c in last["checks"]:
        (st.success if c["passed"] else st.error)(f"{c['name']}: {c['message']}")
    st.download_button(t("meter.slip"), slip, file_name=f"meter_check_{last['id']}.pdf",
                       mime="application/pdf", key="meter_slip", type="primary")
st.subheader(t("meter.at_event", n=len(rows)))
if rows:
    st.dataframe([{"ID": r["id"], t("meter.checked_at"): fmt.moment(r["at"]),
                   t("meter.kind"): t(f"meter.kind.{r['kind']}"), t("meter.make"): r["make"],
                   t("cal.outcome"): "✓ " + t("calrec.pass") if r["outcome"] == "pass"
                   else "✗ " + t("calrec.fail")} for r in rows],
                 hide_index=True, width="stretch")
