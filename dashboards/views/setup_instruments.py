"""Set-up: instruments (serial, model, kind, driver or ``profile:NAME``, market or lab,
calibration interval) and test kits with their lots (method, maker, lot, expiry) — create, edit,
deactivate (never delete: results point to them). Instruments: admins everywhere, managers for
their county's markets; kits: admins. Services: lims.masterdata.records, lims.masterdata.kits."""

from __future__ import annotations

import functools
from datetime import timedelta

import streamlit as st

from dashboards import data, setup_ui
from dashboards.i18n import day, t
from lims.masterdata import kits, records
from lims.models.enums import InstrumentKind
from lims.settings import load_settings
from lims.timeutil import now

a, counties = setup_ui.gate()
st.title(t("page.setup_instruments"))
run = functools.partial(setup_ui.run, a)
setup_ui.flash()
tick = setup_ui.tick

# -- instruments --------------------------------------------------------------------------------
st.subheader(t("setup.instruments"))
with data.session() as s:
    instruments = records.list_instruments(session=s, counties=counties)
    markets = records.list_markets(session=s, counties=counties)
code_of = {m.id: m.code for m in markets}
st.dataframe([{t("setup.serial"): i.serial_no, t("setup.model"): i.model,
               t("setup.kind"): t(f"instrument_kind.{i.kind}"),
               t("setup.driver"): f"profile:{i.profile}" if i.driver == "profile" else i.driver,
               t("setup.market"): code_of.get(i.market_id, t("setup.lab")),
               t("setup.interval"): i.calibration_interval_days,
               t("setup.active"): tick(i.active)} for i in instruments],
             hide_index=True, width="stretch")
ipick = st.selectbox(t("setup.edit_instrument"), [i.serial_no for i in instruments],
                     key="si_pick", index=None, placeholder=t("setup.new"))
icur = next((i for i in instruments if i.serial_no == ipick), None)
ikinds = [k.value for k in InstrumentKind]
# closed markets are not offered for a new instrument (the current one stays, to be changed)
mkeys = ([] if counties else [""]) + [m.code for m in markets
                                      if m.active or (icur and m.id == icur.market_id)]
icur_market = code_of.get(icur.market_id, "") if icur else (mkeys[0] if mkeys else "")
kind_of = {t(f"instrument_kind.{k}"): k for k in ikinds}
market_of = {k or t("setup.lab"): k for k in mkeys}
with st.form(f"instrument_form_{ipick}"):
    c1, c2 = st.columns(2)
    serial = c1.text_input(t("setup.serial"), value=icur.serial_no if icur else "",
                           disabled=icur is not None)
    model = c2.text_input(t("setup.model"), value=icur.model if icur else "")
    # options are the labels themselves (no format_func calling t(): AppTest formats outside
    # the page's session, in the default language)
    kind = kind_of[c1.selectbox(t("setup.kind"), list(kind_of),
                                index=ikinds.index(icur.kind) if icur and icur.kind in ikinds
                                else 0)]
    driver = c2.text_input(t("setup.driver"), help=t("setup.driver_help"),
                           value=("" if icur is None else f"profile:{icur.profile}"
                                  if icur.driver == "profile" else icur.driver))
    market = market_of[c1.selectbox(t("setup.market"), list(market_of),
                                    index=mkeys.index(icur_market) if icur_market in mkeys
                                    else 0)]
    interval = c2.number_input(t("setup.interval"), min_value=1, max_value=3650, step=1,
                               value=icur.calibration_interval_days if icur else 365)
    if st.form_submit_button(t("setup.save"), type="primary"):
        run(records.save_instrument, serial=serial, model=model, kind=kind, driver=driver,
            market=market or "", calibration_interval_days=int(interval),
            profile_dirs=(load_settings().var_dir / "profiles",))
if icur is not None:
    ireason = st.text_input(t("reason"), key="si_reason")
    if st.button(t("setup.deactivate") if icur.active else t("setup.activate"), key="si_active"):
        run(records.set_active, entity="instrument", id=icur.id, active=not icur.active,
            reason=ireason)

# -- test kits (admins) -------------------------------------------------------------------------
if not a.can("masterdata.edit"):
    st.stop()
st.subheader(t("setup.kits"))
st.caption(t("setup.kits_help"))
at = now()
with data.session() as s:
    lots = kits.list_lots(session=s)
st.dataframe([{t("setup.kit"): x.kit, t("setup.method"): x.method, t("setup.maker"): x.maker,
               t("setup.lot"): x.lot, t("setup.expires_on"): day(x.expires_on),
               t("setup.expired"): "⚠" if x.expired_at(at) else "",
               t("setup.active"): tick(x.active and x.kit_active)} for x in lots],
             hide_index=True, width="stretch")
lkeys = [f"{x.kit}/{x.lot}" for x in lots]
lpick = st.selectbox(t("setup.edit_lot"), lkeys, key="sk_pick", index=None,
                     placeholder=t("setup.new"))
lcur = next((x for x in lots if f"{x.kit}/{x.lot}" == lpick), None)
methods = [m["code"] for m in data.methods(data.db_key())]
with st.form(f"kit_form_{lpick}"):
    c1, c2 = st.columns(2)
    kit = c1.text_input(t("setup.kit"), value=lcur.kit if lcur else "", disabled=lcur is not None)
    method = c2.selectbox(t("setup.method"), methods,
                          index=methods.index(lcur.method) if lcur and lcur.method in methods
                          else 0)
    maker = c1.text_input(t("setup.maker"), value=lcur.maker if lcur else "")
    kname = c2.text_input(t("setup.kit_name"), value=lcur.kit_name if lcur else "")
    lot = c1.text_input(t("setup.lot"), value=lcur.lot if lcur else "", disabled=lcur is not None)
    expires = c2.date_input(t("setup.expires_on"), value=lcur.expires_on if lcur
                            else (at + timedelta(days=365)).date())
    if st.form_submit_button(t("setup.save"), type="primary"):
        run(kits.save_kit_lot, kit=kit, method=method, maker=maker, name=kname, lot=lot,
            expires_on=expires)
if lcur is not None:
    kreason = st.text_input(t("reason"), key="sk_reason")
    if st.button(t("setup.deactivate") if lcur.active else t("setup.activate"), key="sk_active"):
        run(records.set_active, entity="kit_lot", id=lcur.id, active=not lcur.active,
            reason=kreason)
