"""Field: test at the stand — market or event → vendor → commodity → reading → a big verdict."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboards import data, identity, widgets
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError
from lims.settings import load_settings
from lims.timeutil import now

identity.guard("field")
widgets.touch_css()
st.title(t("page.field_test"))
db = data.db_key()
settings = load_settings()
today = now().astimezone(settings.timezone).date()
opts = data.filter_options(db)
if not opts["markets"]:
    st.info(t("field.no_markets"))
    st.stop()

left, right = st.columns([3, 2], gap="large")
with left:
    where = st.radio(t("field.where"), ["market", "event"], horizontal=True,
                     format_func=labeller(["market", "event"], lambda w: t(f"field.where_{w}")),
                     key="field_where")
    event = None
    market_id = None
    if where == "event":
        events = data.recent_events(db, today)
        if not events:
            st.warning(t("field.no_events"))
            st.stop()
        ev_names = {e["id"]: f"{e['name']} · {fmt.day(e['starts_at'])}" for e in events}
        event_id = st.selectbox(t("field.event"), list(ev_names), format_func=ev_names.get,
                                key="field_event")
        event = next(e for e in events if e["id"] == event_id)
        market_id = event["market_id"]
    else:
        names = {m["id"]: f"{m['name']} ({m['county']})" for m in opts["markets"]}
        market_id = st.selectbox(t("market"), list(names), format_func=names.get,
                                 key="field_market")

    vendor = None
    resident = False
    if market_id is not None:
        vendors = data.vendors_of(db, market_id)
        choices = ([None] if event else []) + [v["id"] for v in vendors]
        by_id = {v["id"]: v for v in vendors}
        if choices:
            vid = st.selectbox(
                t("field.vendor"), choices, key="field_vendor",
                format_func=labeller(choices, lambda v: t("field.resident") if v is None else
                                     f"{by_id[v]['stall']} {by_id[v]['name']} · {t('grade')} "
                                     f"{by_id[v]['credit_grade']}"))
            vendor = by_id.get(vid)
            resident = vid is None
        else:
            st.caption(t("field.no_vendors"))
            resident = event is not None
        if vendor:
            grade, why = data.vendor_grade(db, vendor["id"])
            st.markdown(f"{t('grade')}: {widgets.grade_badge(grade)}", unsafe_allow_html=True)
            st.caption(why)
    else:
        resident = True

    com = {c["id"]: fmt.name(c) for c in opts["commodities"]}
    commodity_id = st.selectbox(t("field.commodity"), list(com), format_func=com.get,
                                key="field_commodity")
    commodity = next(c for c in opts["commodities"] if c["id"] == commodity_id)
    with st.expander(t("field.register")):
        st.caption(t("field.register_hint"))
        if st.button(t("field.register"), key="field_register"):
            market_code = next((m["code"] for m in opts["markets"] if m["id"] == market_id), None)
            try:
                reg = data.register_sample(
                    actor(), commodity=commodity["name_zh"],
                    market=market_code, vendor_stall=vendor["stall"] if vendor else None,
                    resident_purchase=resident, event_id=event["id"] if event else None)
            except LimsError as exc:
                st.error(str(exc))
            else:
                st.session_state["field_registered"] = reg.sample_code
        code = st.session_state.get("field_registered")
        if code:
            st.success(t("field.registered", code=code))
            st.markdown(f"## `{code}`")
            l1, l2 = st.columns(2)
            l1.download_button(t("field.label_58"), data.sample_labels([code], "58mm"),
                               file_name=f"label_{code}.pdf", mime="application/pdf",
                               key=f"label58_{code}")
            l2.download_button(t("field.label_a4"), data.sample_labels([code], "a4"),
                               file_name=f"labels_{code}_a4.pdf", mime="application/pdf",
                               key=f"labela4_{code}")
    mode = st.radio(t("field.mode"), ["instrument", "card"], horizontal=True,
                    format_func=labeller(["instrument", "card"], lambda m: t(f"field.mode_{m}")),
                    key="field_mode")


def show_result(verdict: str, code: str | None, detail: str = "") -> None:
    widgets.verdict_banner(verdict, detail)
    if code:
        url = data.public_url(code)
        c1, c2 = st.columns([1, 2])
        c1.image(widgets.qr_png(url), width=170)
        c2.markdown(f"### {t('field.slip')}\n**{t('field.sample_code')}:** `{code}`")
        c2.caption(url)
        slip = data.slip(db, code)
        if slip:
            d1, d2 = c2.columns(2)
            d1.download_button(t("field.slip_png"), slip[0], file_name=f"slip_{code}.png",
                               mime="image/png", key=f"slip_png_{code}")
            d2.download_button(t("field.slip_pdf"), slip[1], file_name=f"slip_{code}.pdf",
                               mime="application/pdf", key=f"slip_pdf_{code}")


with right:
    if mode == "card":
        with st.form("card_form"):
            colour = st.radio(t("card.colour"), ["sky_blue", "faint_blue", "unchanged"],
                              format_func=labeller(["sky_blue", "faint_blue", "unchanged"],
                                                   lambda c: t(f"card.{c}")),
                              key="card_colour")
            blank_ok = st.checkbox(t("card.blank_ok"), value=True, key="card_blank_ok")
            go = st.form_submit_button(t("field.record"), type="primary")
        if go:
            market_code = next((m["code"] for m in opts["markets"] if m["id"] == market_id), None)
            try:
                out = data.record_field_test(
                    actor(), commodity=commodity["name_zh"], card_colour=colour,
                    blank_ok=blank_ok, event_id=event["id"] if event else None,
                    market=None if event else market_code,
                    vendor_stall=vendor["stall"] if vendor else None, resident_purchase=resident)
            except LimsError as exc:
                st.error(str(exc))
            else:
                st.session_state["field_last"] = {"verdict": out.verdict,
                                                  "code": out.sample_code,
                                                  "case": out.case_id, "grade": out.vendor_grade}
        last = st.session_state.get("field_last")
        if last:
            if last["case"]:
                st.warning(t("field.case_opened", case=last["case"]))
            show_result(last["verdict"], last["code"])
    else:
        instruments = data.field_instruments(db, market_id)
        if not instruments:
            st.info(t("field.no_instruments"))
        else:
            inames = {i["id"]: f"{i['serial_no']} · {i['model']}" for i in instruments}
            iid = st.selectbox(t("field.instrument"), list(inames), format_func=inames.get,
                               key="field_instrument")
            window = st.select_slider(t("field.window"), [5, 15, 60, 240, 1440], value=60,
                                      format_func=labeller([5, 15, 60, 240, 1440],
                                                           lambda m: fmt.duration(m * 60)),
                                      key="field_window")

            @st.fragment(run_every=timedelta(seconds=3))
            def live() -> None:
                since = now() - timedelta(minutes=window)
                r = data.latest_reading(iid, since)
                if r is None:
                    st.info(t("field.waiting"))
                    return
                value = "" if r["computed_value"] is None else \
                    f"{fmt.num(r['computed_value'], 2)} {r['computed_unit'] or ''}"
                detail = f"{fmt.name(r)} · {value} · {fmt.moment(r['tested_at'])}"
                if r["status"] == "held":
                    st.warning(t("field.held"))
                show_result(r["verdict"], r["sample"], detail)

            live()

st.divider()
figs = data.running_figures(today, None if event else market_id, event["id"] if event else None)
st.subheader(t("field.figures_event") if event else t("field.figures_today"))
cols = st.columns(5)
for col, key in zip(cols, ("total", "negative", "positive", "suspicious", "invalid"), strict=True):
    col.metric(t("field.total") if key == "total" else t(f"verdict.{key}"),
               fmt.num(figs.get(key, 0)))
