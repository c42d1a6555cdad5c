"""Management: the night-market patrol log (夜市巡查) — record a patrol (market, time, officers,
stalls checked, findings) and see the recent ones. One column and large targets: it is filled
in on a phone at the market. Service: lims.outreach.patrols (record_patrol, list_patrols)."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboards import data, identity, widgets
from dashboards import i18n as fmt
from dashboards.form_fields import Slots, latest_allowed, moment_input
from dashboards.i18n import labeller, t
from dashboards.identity import actor, plain
from lims.errors import LimsError
from lims.metrology.attachments import read_file
from lims.outreach import events, patrols

identity.guard("management")
widgets.touch_css()
st.title(t("page.patrols"))
a = actor()
with data.session() as s:
    markets = [m for m in events.markets_in_grid_order(session=s,
                                                       username=a.username if a else None)
               if m.active]
    recent = patrols.list_patrols(session=s, limit=20)
names = {m.id: m.name for m in markets}
# night markets first (the log is theirs), then the grid group's order
night = {m.id: m.kind == "night_market" for m in markets}
market_ids = sorted(names, key=lambda i: not night[i])   # stable: the grid order stays

if flash := st.session_state.pop("patrol_flash", None):
    st.success(flash)

if a is not None and a.can(events.PERMISSION):
    if not markets:
        st.info(t("patrol.no_markets"))
    else:
        with st.form("patrol_form"):
            slots = Slots(general="_")
            market_id = st.selectbox(t("market"), market_ids, key="patrol_market",
                                     format_func=labeller(market_ids, names.__getitem__))
            slots.add(t("market"), "market_id")
            route = st.text_input(t("patrol.route"), key="patrol_route",
                                  placeholder=t("patrol.route_hint"))
            slots.add(t("patrol.route"), "route")
            started = moment_input(t("patrol.started"), "patrol_start")
            slots.add(t("patrol.started"), "started_at")
            ended = moment_input(t("patrol.ended"), "patrol_end", optional=True)
            slots.add(t("patrol.ended"), "ended_at")
            staff = st.text_input(t("patrol.staff"), key="patrol_staff",
                                  placeholder=t("patrol.staff_hint"))
            slots.add(t("patrol.staff"), "staff")
            stalls = st.number_input(t("patrol.stalls"), min_value=0, step=1, value=0,
                                     key="patrol_stalls")
            slots.add(t("patrol.stalls"), "stalls_checked")
            samples = st.number_input(t("patrol.samples"), min_value=0, step=1, value=0,
                                      key="patrol_samples")
            slots.add(t("patrol.samples"), "samples_tested")
            found = st.number_input(t("patrol.issues_found"), min_value=0, step=1, value=0,
                                    key="patrol_issues_found")
            slots.add(t("patrol.issues_found"), "issues_found")
            findings = st.text_area(t("patrol.findings"), key="patrol_findings",
                                    placeholder=t("patrol.findings_hint"))
            slots.add(t("patrol.findings"), "issues")
            photos = st.file_uploader(t("patrol.photos"), type=["png", "jpg", "jpeg"],
                                      accept_multiple_files=True, key="patrol_photos")
            slots.add(t("patrol.photos"), "photos")
            submitted = st.form_submit_button(t("patrol.save"), type="primary",
                                              key="patrol_submit", width="stretch")
            slots.add("", "_")
        if submitted:
            if started is None:
                slots.error("started_at", t("form.time_missing"))
            elif started > latest_allowed():
                slots.error("started_at", t("form.future"))
            else:
                if ended is not None and ended < started:   # past midnight: the next day
                    ended += timedelta(days=1)
                if ended is not None and ended > latest_allowed():
                    slots.error("ended_at", t("form.future"))
                else:
                    try:
                        with data.session() as s:
                            p = patrols.record_patrol(
                                session=s, actor=a, route=route, started_at=started,
                                ended_at=ended, market_id=market_id, staff=staff,
                                stalls_checked=int(stalls), samples_tested=int(samples),
                                issues_found=int(found), issues=findings,
                                photos=[(f.getvalue(), f.name) for f in photos or []])
                            pid = p.id
                    except LimsError as exc:
                        slots.show(exc)
                    else:
                        data.clear()
                        st.session_state["patrol_flash"] = t("patrol.saved", id=pid)
                        for k in ("patrol_route", "patrol_findings", "patrol_issues_found"):
                            st.session_state.pop(k, None)
                        st.rerun()
else:
    st.info(t("patrol.read_only"))

@st.cache_data(ttl=600, show_spinner=False, max_entries=200)
def photo_bytes(path: str, sha256: str) -> bytes | None:
    """A stored patrol photo (None when the file is gone or altered)."""
    try:
        return read_file(path, sha256)
    except LimsError:
        return None


st.subheader(t("patrol.recent"))
if not recent:
    st.info(t("patrol.none"))
for p in recent:
    with st.container(border=True, key=f"patrol_card_{p.id}"):
        span = fmt.moment(p.started_at) + (f" – {fmt.moment(p.ended_at)}" if p.ended_at else "")
        st.markdown(f"**{plain(names.get(p.market_id, p.route))}** · {span}")
        st.markdown(t("patrol.card", route=plain(p.route), staff=plain(p.staff or "—"),
                      stalls=p.stalls_checked, samples=p.samples_tested,
                      issues=p.issues_found))
        if p.issues:
            st.markdown(f"{t('patrol.findings')}: {plain(p.issues)}")
        shots = [photo_bytes(x["path"], x["sha256"]) for x in p.photos or []]
        if any(shots):
            st.image([x for x in shots if x], width=120)
