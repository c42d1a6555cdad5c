"""Outreach: create an event (teams, place, time), then log each volunteer's service hours and
the people served and talks given. Service: lims.outreach.events (the figures on the management
page "Outreach" are summed from these)."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboards import data, identity, widgets
from dashboards import i18n as fmt
from dashboards.form_messages import FieldErrors, moment_input, refuse_future
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError
from lims.models.enums import EventKind
from lims.outreach import events
from lims.outreach.volunteers import event_volunteers

identity.guard("outreach")
widgets.touch_css()
st.title(t("page.outreach_events"))
a = actor()
can = a is not None and a.can(events.PERMISSION)
with data.session() as s:
    teams = {tm.id: tm.name for tm in events.list_teams(session=s)}
    evs = {e.id: (e.name, e.starts_at, e.place) for e in events.list_events(session=s)}
if flash := st.session_state.pop("ev_flash", None):
    st.success(flash)


def save(fn, err: FieldErrors, flash: str, **kw) -> None:
    try:
        with data.session() as s:
            out = fn(session=s, actor=a, **kw)
            st.session_state["ev_pick"] = getattr(out, "event_id", None) or out.id
    except LimsError as exc:
        err.show_exc(exc)
    else:
        data.clear()
        st.session_state["ev_flash"] = flash
        st.rerun()


# -- a new event ---------------------------------------------------------------------------------
if not can:
    st.info(t("ev.read_only"))
elif not teams:
    st.info(t("ev.no_teams"))
else:
    st.subheader(t("ev.new"))
    err = FieldErrors(aliases={"team_ids": "teams", "market_id": "market",
                               "talks_given": "people_served"})
    with st.form("ev_form"):
        name = st.text_input(t("ev.name"), key="ev_name", placeholder=t("ev.name_hint"))
        err.slot("name")
        kinds = [k.value for k in EventKind]
        kind = st.selectbox(t("ev.kind"), kinds, key="ev_kind",
                            format_func=labeller(kinds, lambda k: t(f"ev.kind.{k}")))
        err.slot("kind")
        team_ids = st.multiselect(t("ev.teams"), list(teams), key="ev_teams",
                                  format_func=labeller(list(teams), teams.__getitem__))
        err.slot("teams")
        c1, c2 = st.columns(2)
        place = c1.text_input(t("ev.place"), key="ev_place")
        county = c2.text_input(t("setup.county"), key="ev_county")
        starts = moment_input(t("ev.starts_at"), "ev_start")
        err.slot("starts_at")
        hours = st.number_input(t("ev.duration"), min_value=0.0, max_value=24.0, value=2.0,
                                step=0.5, key="ev_duration")
        err.slot("ends_at")
        c1, c2 = st.columns(2)
        people = c1.number_input(t("ev.people_served"), min_value=0, step=1, key="ev_people")
        talks = c2.number_input(t("ev.talks"), min_value=0, step=1, key="ev_talks")
        err.slot("people_served")
        submitted = st.form_submit_button(t("ev.create"), type="primary")
        err.slot("_form")
        if submitted:
            if not name.strip():
                err.show("name", t("ev.name_missing"))
            if not team_ids:
                err.show("teams", t("ev.teams_missing"))
            refuse_future(starts, "starts_at", err)
            if err.ok:
                save(events.create_event, err, t("ev.created", name=name.strip()),
                     name=name.strip(), kind=kind, starts_at=starts, team_ids=list(team_ids),
                     ends_at=starts + timedelta(hours=hours) if hours else None,
                     place=place.strip(), county=county.strip(), people_served=int(people),
                     talks_given=int(talks))

# -- an event's hours and counts -----------------------------------------------------------------
st.subheader(t("ev.existing"))
if not evs:
    st.info(t("ev.none"))
    st.stop()
ids = list(evs)
pick = st.session_state.pop("ev_pick", None)
if pick in evs:
    st.session_state["ev_event"] = pick
event_id = st.selectbox(t("meter.event"), ids, key="ev_event", format_func=labeller(
    ids, lambda i: f"{evs[i][0]} · {fmt.day(evs[i][1].date())}"
                   + (f" · {evs[i][2]}" if evs[i][2] else "")))
with data.session() as s:
    d = events.event_detail(session=s, event_id=event_id)
    ev = d.event
    vols = {v.id: v.name for v in event_volunteers(session=s, event_id=event_id)}
    people_now, talks_now = ev.people_served, ev.talks_given
cols = st.columns(4)
cols[0].metric(t("outreach.service_hours"), fmt.num(d.service_hours, 1))
cols[1].metric(t("outreach.people_served"), people_now)
cols[2].metric(t("outreach.talks"), talks_now)
cols[3].metric(t("outreach.instruments_verified"), d.instruments_verified)
st.caption(t("ev.detail", teams="、".join(d.teams), start=fmt.moment(ev.starts_at)))
if d.service:
    st.dataframe([{t("ev.volunteer"): n, t("ev.hours"): h} for n, h in d.service],
                 hide_index=True, width="stretch")
if not can:
    st.stop()

c_left, c_right = st.columns(2)
with c_left:
    err_h = FieldErrors()
    with st.form(f"ev_hours_{event_id}"):
        st.markdown(f"**{t('ev.log_hours')}**")
        if not vols:
            st.caption(t("ev.no_volunteers"))
        vid = st.selectbox(t("ev.volunteer"), list(vols), key=f"ev_vol_{event_id}",
                           format_func=labeller(list(vols), vols.__getitem__))
        err_h.slot("volunteer")
        h = st.number_input(t("ev.hours"), min_value=0.0, max_value=24.0, value=0.0, step=0.5,
                            key=f"ev_h_{event_id}")
        err_h.slot("hours")
        go = st.form_submit_button(t("ev.save_hours"), type="primary")
        err_h.slot("_form")
        if go:
            if vid is None:
                err_h.show("volunteer", t("ev.no_volunteers"))
            elif h <= 0:
                err_h.show("hours", t("ev.hours_positive"))
            else:
                save(events.record_service, err_h, t("ev.hours_saved", name=vols[vid], hours=h),
                     event_id=event_id, volunteer_id=vid, hours=float(h))
with c_right:
    err_c = FieldErrors(aliases={"talks_given": "people_served"})
    with st.form(f"ev_counts_{event_id}"):
        st.markdown(f"**{t('ev.counts')}**")
        p = st.number_input(t("ev.people_served"), min_value=0, step=1, value=people_now,
                            key=f"ev_p_{event_id}")
        k = st.number_input(t("ev.talks"), min_value=0, step=1, value=talks_now,
                            key=f"ev_k_{event_id}")
        err_c.slot("people_served")
        go = st.form_submit_button(t("ev.save_counts"))
        err_c.slot("_form")
        if go:
            save(events.update_event_counts, err_c, t("ev.counts_saved"), event_id=event_id,
                 people_served=int(p), talks_given=int(k))
