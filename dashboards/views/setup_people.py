"""Set-up: grid groups (officer, phone), volunteer teams and volunteers — create, edit,
deactivate (never delete: markets, events and service hours point to them). Admins everywhere,
managers for their own county. Services: lims.masterdata.records."""

from __future__ import annotations

import functools

import streamlit as st

from dashboards import data, setup_ui
from dashboards.i18n import t
from lims.masterdata import records

a, counties = setup_ui.gate()
st.title(t("page.setup_people"))
run = functools.partial(setup_ui.run, a)
setup_ui.flash()
tick = setup_ui.tick

# -- grid groups --------------------------------------------------------------------------------
st.subheader(t("setup.grid_groups"))
with data.session() as s:
    groups = records.list_grid_groups(session=s, counties=counties)
    teams = records.list_teams(session=s, counties=counties)
st.dataframe([{t("setup.code"): g.code or "", t("setup.name"): g.name,
               t("setup.county"): g.county, t("setup.officer"): g.officer,
               t("setup.phone"): g.phone, t("setup.active"): tick(g.active)} for g in groups],
             hide_index=True, width="stretch")
gkeys = [g.code or g.name for g in groups]
gpick = st.selectbox(t("setup.edit_grid_group"), gkeys, key="sg_pick", index=None,
                     placeholder=t("setup.new"))
gcur = next((g for g in groups if (g.code or g.name) == gpick), None)
with st.form(f"group_form_{gpick}"):
    c1, c2 = st.columns(2)
    code = c1.text_input(t("setup.code"), value=gcur.code or "" if gcur else "",
                         disabled=gcur is not None and gcur.code is not None)
    name = c2.text_input(t("setup.name"), value=gcur.name if gcur else "")
    county = c1.text_input(t("setup.county"),
                           value=gcur.county if gcur else (counties[0] if counties else ""))
    officer = c2.text_input(t("setup.officer"), value=gcur.officer if gcur else "")
    phone = c1.text_input(t("setup.phone"), value=gcur.phone if gcur else "")
    if st.form_submit_button(t("setup.save"), type="primary"):
        run(records.save_grid_group, code=code, name=name, county=county, officer=officer,
            phone=phone)
if gcur is not None:
    greason = st.text_input(t("reason"), key="sg_reason")
    if st.button(t("setup.deactivate") if gcur.active else t("setup.activate"), key="sg_active"):
        run(records.set_active, entity="grid_group", id=gcur.id, active=not gcur.active,
            reason=greason)

# -- volunteer teams ----------------------------------------------------------------------------
st.subheader(t("setup.teams"))
st.dataframe([{t("setup.name"): x.name, t("setup.county"): x.county, t("setup.leader"): x.leader,
               t("setup.active"): tick(x.active)} for x in teams],
             hide_index=True, width="stretch")
tnames = [x.name for x in teams]
tpick = st.selectbox(t("setup.edit_team"), tnames, key="st_pick", index=None,
                     placeholder=t("setup.new"))
tcur = next((x for x in teams if x.name == tpick), None)
with st.form(f"team_form_{tpick}"):
    c1, c2 = st.columns(2)
    tname = c1.text_input(t("setup.name"), value=tcur.name if tcur else "",
                          disabled=tcur is not None)
    tcounty = c2.text_input(t("setup.county"),
                            value=tcur.county if tcur else (counties[0] if counties else ""))
    leader = c1.text_input(t("setup.leader"), value=tcur.leader if tcur else "")
    if st.form_submit_button(t("setup.save"), type="primary"):
        run(records.save_team, name=tname, county=tcounty, leader=leader)
if tcur is not None:
    treason = st.text_input(t("reason"), key="st_reason")
    if st.button(t("setup.deactivate") if tcur.active else t("setup.activate"), key="st_active"):
        run(records.set_active, entity="volunteer_team", id=tcur.id, active=not tcur.active,
            reason=treason)

# -- volunteers ---------------------------------------------------------------------------------
st.subheader(t("setup.volunteers"))
if not teams:
    st.info(t("setup.no_teams"))
    st.stop()
vt = st.selectbox(t("setup.team"), tnames, key="sv_team")
team = next(x for x in teams if x.name == vt)
with data.session() as s:
    volunteers = records.list_volunteers(session=s, team_id=team.id)
st.dataframe([{t("setup.name"): v.name, t("setup.phone"): v.phone,
               t("setup.active"): tick(v.active)} for v in volunteers],
             hide_index=True, width="stretch")
vpick = st.selectbox(t("setup.edit_volunteer"), [v.name for v in volunteers], key="svol_pick",
                     index=None, placeholder=t("setup.new"))
vcur = next((v for v in volunteers if v.name == vpick), None)
with st.form(f"volunteer_form_{vt}_{vpick}"):
    c1, c2 = st.columns(2)
    vname = c1.text_input(t("setup.name"), value=vcur.name if vcur else "",
                          disabled=vcur is not None)
    vphone = c2.text_input(t("setup.phone"), value=vcur.phone if vcur else "")
    if st.form_submit_button(t("setup.save"), type="primary"):
        run(records.save_volunteer, team=vt, name=vname, phone=vphone)
if vcur is not None and st.button(t("setup.deactivate") if vcur.active else t("setup.activate"),
                                  key="svol_active"):
    run(records.set_active, entity="volunteer", id=vcur.id, active=not vcur.active)
