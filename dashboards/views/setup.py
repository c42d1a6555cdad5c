"""Set-up — the master-data workbook (template, upload, all or nothing; admins) and the market
and vendor forms (create, edit, deactivate; never delete). Admins everywhere, managers for their
own county. Grid groups and teams: setup_people; instruments and kits: setup_instruments.
Services: lims.masterdata."""

from __future__ import annotations

import functools

import streamlit as st

from dashboards import data, setup_ui
from dashboards.i18n import t
from lims.errors import LimsError, ValidationFailed
from lims.masterdata import records, workbook
from lims.models.enums import MarketKind

a, counties = setup_ui.gate()
st.title(t("page.setup"))
if a.can("masterdata.edit"):
    setup_ui.checklist()
run = functools.partial(setup_ui.run, a)
show_errors = setup_ui.show_errors
setup_ui.flash()


# -- the workbook (admins: it may name any county) --------------------------------------------
if a.can("masterdata.edit"):
    st.subheader(t("setup.workbook"))
    st.caption(t("setup.workbook_help"))
    st.download_button(t("setup.template"), workbook.template_bytes(), file_name="setup.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key="setup_template")
    upload = st.file_uploader(t("setup.upload"), type=["xlsx", "csv"], key="setup_upload")
    if upload is not None and st.button(t("setup.import"), type="primary", key="setup_import"):
        try:
            tables = workbook.read_upload(upload.name, upload.getvalue())
            with data.session() as s:
                report = workbook.import_setup(session=s, actor=a, tables=tables, source=upload.name)
        except ValidationFailed as exc:
            show_errors(exc)
        except LimsError as exc:
            st.error(str(exc))
        else:
            data.clear()
            st.success(t("setup.imported"))
            st.dataframe([{t("setup.sheet"): name, t("setup.created"): c["created"],
                           t("setup.updated"): c["updated"], t("setup.unchanged"): c["unchanged"]}
                          for name, c in report.sheets.items()], hide_index=True, width="stretch")

# -- markets ------------------------------------------------------------------------------------
st.subheader(t("setup.markets"))
with data.session() as s:
    markets = records.list_markets(session=s, counties=counties)
    groups = records.list_grid_groups(session=s, counties=counties)
kinds = [k.value for k in MarketKind]
st.dataframe([{t("setup.code"): m.code, t("setup.name"): m.name, t("setup.county"): m.county,
               t("setup.township"): m.township, t("setup.kind"): t(f"market_kind.{m.kind}"),
               t("setup.active"): "✓" if m.active else "✗"} for m in markets],
             hide_index=True, width="stretch")
codes = [m.code for m in markets]
pick = st.selectbox(t("setup.edit_market"), codes, key="sm_pick", index=None,
                    placeholder=t("setup.new"))
cur = next((m for m in markets if m.code == pick), None)
# retired grid groups are not offered for new work (the current one stays, to be changed)
group_keys = ["", *[g.code or g.name for g in groups
                    if g.active or (cur is not None and g.id == cur.grid_group_id)]]
cur_group = next((g.code or g.name for g in groups if cur and g.id == cur.grid_group_id), "")
with st.form(f"market_form_{pick}"):
    c1, c2 = st.columns(2)
    code = c1.text_input(t("setup.code"), value=cur.code if cur else "", disabled=cur is not None)
    name = c2.text_input(t("setup.name"), value=cur.name if cur else "")
    county = c1.text_input(t("setup.county"),
                           value=cur.county if cur else (counties[0] if counties else ""))
    township = c2.text_input(t("setup.township"), value=cur.township if cur else "")
    kind = c1.selectbox(t("setup.kind"), kinds, format_func=lambda k: t(f"market_kind.{k}"),
                        index=kinds.index(cur.kind) if cur and cur.kind in kinds else 0)
    group_label = {"": "—", **{g.code or g.name: f"{g.code} · {g.name}" if g.code else g.name
                               for g in groups}}
    group = c2.selectbox(t("setup.grid_group"), group_keys, index=group_keys.index(cur_group),
                         format_func=group_label.get)
    if st.form_submit_button(t("setup.save"), type="primary"):
        run(records.save_market, code=code, name=name, county=county, township=township,
            kind=kind, grid_group=group)
if cur is not None:
    reason = st.text_input(t("reason"), key="sm_reason")
    if st.button(t("setup.deactivate") if cur.active else t("setup.activate"), key="sm_active"):
        run(records.set_active, entity="market", id=cur.id, active=not cur.active, reason=reason)

# -- vendors ------------------------------------------------------------------------------------
st.subheader(t("setup.vendors"))
if not markets:
    st.info(t("setup.no_markets"))
    st.stop()
vm = st.selectbox(t("setup.market"), codes, key="sv_market")
market = next(m for m in markets if m.code == vm)
with data.session() as s:
    vendors = records.list_vendors(session=s, market_id=market.id)
st.dataframe([{t("setup.stall"): v.stall, t("setup.name"): v.name,
               t("setup.licence_no"): v.licence_no, t("setup.phone"): v.phone,
               t("setup.active"): "✓" if v.active else "✗"} for v in vendors],
             hide_index=True, width="stretch")
stalls = [v.stall for v in vendors]
vpick = st.selectbox(t("setup.edit_vendor"), stalls, key="sv_pick", index=None,
                     placeholder=t("setup.new"))
vcur = next((v for v in vendors if v.stall == vpick), None)
with st.form(f"vendor_form_{vm}_{vpick}"):
    c1, c2 = st.columns(2)
    stall = c1.text_input(t("setup.stall"), value=vcur.stall if vcur else "",
                          disabled=vcur is not None)
    vname = c2.text_input(t("setup.name"), value=vcur.name if vcur else "")
    licence = c1.text_input(t("setup.licence_no"), value=vcur.licence_no if vcur else "")
    phone = c2.text_input(t("setup.phone"), value=vcur.phone if vcur else "")
    if st.form_submit_button(t("setup.save"), type="primary"):
        run(records.save_vendor, market=vm, stall=stall, name=vname, licence_no=licence,
            phone=phone)
if vcur is not None:
    vreason = st.text_input(t("reason"), key="sv_reason")
    if st.button(t("setup.deactivate") if vcur.active else t("setup.activate"), key="sv_active"):
        run(records.set_active, entity="vendor", id=vcur.id, active=not vcur.active,
            reason=vreason)
