"""Field: test at the stand — pick the stall → register the sample (label) → put it on a channel of
the analyzer, or type its values, or read a test card → the verdict, big and on that sample.

One column (a phone at 390 px stacks the few column groups); the analyzer's channel grid lives in
``dashboards/field_batch.py``.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboards import data, field_batch, identity, next_test, widgets
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError, ValidationFailed
from lims.field.stand import TYPED_KINDS
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

# ------------------------------------------------------------------ 1. where, which stall, what
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
    names = {m["id"]: f"{m['name']} ({m['county']})" for m in opts["markets"]
             if m.get("active", True)}   # closed markets take no new samples
    market_id = st.selectbox(t("market"), list(names), format_func=names.get, key="field_market")
market_code = next((m["code"] for m in opts["markets"] if m["id"] == market_id), None)

vendor = None
resident = False
if market_id is not None:
    vendors = [v for v in data.vendors_of(db, market_id) if v.get("active", True)]   # open stalls
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
place = {"event_id": event["id"] if event else None, "market": None if event else market_code,
         "vendor_stall": vendor["stall"] if vendor else None, "resident_purchase": resident}

# ------------------------------------------------------------------ 2. register, label
with st.expander(t("field.register"), expanded=not st.session_state.get("field_codes")):
    st.caption(t("field.register_hint"))
    if st.button(t("field.register"), key="field_register", width="stretch"):
        try:
            reg = data.register_sample(
                actor(), commodity=commodity["name_zh"],
                market=market_code, vendor_stall=vendor["stall"] if vendor else None,
                resident_purchase=resident, event_id=event["id"] if event else None)
        except LimsError as exc:
            st.error(str(exc))
        else:
            st.session_state["field_registered"] = reg.sample_code
            st.session_state["field_codes"] = [*st.session_state.get("field_codes", []),
                                               reg.sample_code]
            st.session_state["field_target"] = reg.sample_code
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

# ------------------------------------------------------------------ 3. the result
modes = ["instrument", "typed", "card"]
mode = st.radio(t("field.mode"), modes, horizontal=True,
                format_func=labeller(modes, lambda m: t(f"field.mode_{m}")), key="field_mode")


def show_result(verdict: str, code: str | None, detail: str = "") -> None:
    tip = next_test.advice(db, code) if verdict == "negative" and code else None   # issue 19
    widgets.verdict_banner(verdict, next_test.detail(tip, detail))
    next_test.recommend(tip)
    if code:
        url = data.public_url(code)
        c1, c2 = st.columns([1, 2])
        c1.image(widgets.qr_png(url), width=170)
        c2.markdown(f"### {t('field.slip')}\n**{t('field.sample_code')}:** `{code}`")
        c2.caption(url)
        # the slip is drawn when a button is pressed, not on every rerun (a PDF with its fonts
        # and QR cost seconds on the first view: issue 17)
        d1, d2 = c2.columns(2)
        d1.download_button(t("field.slip_png"), data.slip_file(db, code, "png"),
                           file_name=f"slip_{code}.png", mime="image/png", key=f"slip_png_{code}")
        d2.download_button(t("field.slip_pdf"), data.slip_file(db, code, "pdf"),
                           file_name=f"slip_{code}.pdf", mime="application/pdf",
                           key=f"slip_pdf_{code}")


def target_sample() -> str | None:
    """The registered sample a typed or card result goes on (None: a new one of the stall)."""
    codes = list(reversed(st.session_state.get("field_codes", []))) + [None]
    return st.selectbox(t("field.target"), codes, key="field_target",
                        format_func=labeller(codes, lambda c: t("field.target_new") if c is None
                                             else t("field.target_code", code=c)))


def remember(out) -> None:
    st.session_state["field_last"] = {"verdict": out.verdict, "code": out.sample_code,
                                      "case": out.case_id, "grade": out.vendor_grade,
                                      "value": out.value, "unit": out.unit}


def last_result() -> None:
    last = st.session_state.get("field_last")
    if last:
        if last["case"]:
            st.warning(t("field.case_opened", case=last["case"]))
        value = "" if last.get("value") is None else \
            f" · {fmt.num(last['value'], 2)} {last.get('unit') or ''}"
        state = data.retest_state(db, last["code"]) if last["code"] else None
        if state:   # GB/T 5009.199: a positive is re-tested before it is final
            st.warning(field_batch.retest_label(*state))
        show_result(last["verdict"], last["code"],
                    f"{t('field.sample_code')} {last['code']}{value}")


def _record_typed(method: str, keys: tuple[str, ...], target: str | None, commodity_name: str,
                  where: dict) -> None:
    """Form callback: the typed values through the intake pipeline; bad ones by their field."""
    from lims.field.stand import record_typed_values

    values = {k: st.session_state.get(f"typed_{k}", "") for k in keys}
    errors: dict[str, str] = {}
    try:
        with data.session() as s:
            out = record_typed_values(session=s, actor=actor(), method=method, values=values,
                                      sample_code=target, commodity=commodity_name,
                                      **({} if target else where))
    except ValidationFailed as exc:
        for e in exc.errors:
            k = e.field if e.field in keys else "_"
            errors[k] = (errors.get(k, "") + " " + e.message).strip()
    except LimsError as exc:
        errors["_"] = str(exc)
    else:
        data.clear()
        remember(out)
        for k in keys:
            st.session_state[f"typed_{k}"] = ""
    st.session_state["typed_errors"] = errors


def typed_panel() -> None:
    methods = [m for m in data.methods(db) if m["kind"] in TYPED_KINDS]
    codes = [m["code"] for m in methods]
    by_code = {m["code"]: m for m in methods}
    method = st.selectbox(t("typed.method"), codes, key="typed_method",
                          format_func=labeller(codes, lambda c: f"{fmt.name(by_code[c])} · {c}"))
    keys = TYPED_KINDS[by_code[method]["kind"]]
    target = target_sample()
    errors = st.session_state.get("typed_errors", {})
    with st.form("typed_form"):
        for k in keys:
            st.text_input(t(f"typed.{k}"), key=f"typed_{k}", help=t(f"typed.{k}_help"))
            if errors.get(k):
                st.error(t("typed.bad", what=t(f"typed.{k}"), why=errors[k]))
        if errors.get("_"):
            st.error(errors["_"])
        st.form_submit_button(t("field.record"), type="primary", on_click=_record_typed,
                              args=(method, keys, target, commodity["name_zh"], place),
                              width="stretch")
    last_result()


def card_panel() -> None:
    target = target_sample()
    with st.form("card_form"):
        colour = st.radio(t("card.colour"), ["sky_blue", "faint_blue", "unchanged"],
                          format_func=labeller(["sky_blue", "faint_blue", "unchanged"],
                                               lambda c: t(f"card.{c}")),
                          key="card_colour")
        blank_ok = st.checkbox(t("card.blank_ok"), value=True, key="card_blank_ok")
        go = st.form_submit_button(t("field.record"), type="primary", width="stretch")
    if go:
        try:
            out = data.record_field_test(actor(), commodity=commodity["name_zh"],
                                         card_colour=colour, blank_ok=blank_ok,
                                         sample_code=target, **({} if target else place))
        except LimsError as exc:
            st.error(str(exc))
        else:
            remember(out)
    last_result()


def latest_panel(iid: int) -> None:
    """The instrument's newest reading (one that named its sample itself, or any)."""
    with st.expander(t("field.latest")):
        window = st.select_slider(t("field.window"), [5, 15, 60, 240, 1440], value=60,
                                  format_func=labeller([5, 15, 60, 240, 1440],
                                                       lambda m: fmt.duration(m * 60)),
                                  key="field_window")

        @st.fragment(run_every=timedelta(seconds=3))
        def live() -> None:
            r = data.latest_reading(iid, now() - timedelta(minutes=window))
            if r is None:
                st.info(t("field.waiting"))
                return
            value = "" if r["computed_value"] is None else \
                f"{fmt.num(r['computed_value'], 2)} {r['computed_unit'] or ''}"
            detail = f"{r['sample']} · {fmt.name(r)} · {value} · {fmt.moment(r['tested_at'])}"
            if r["status"] == "held":
                st.warning(t("field.held"))
            show_result(r["verdict"], r["sample"], detail)

        live()


if mode == "card":
    card_panel()
elif mode == "typed":
    typed_panel()
else:
    instruments = data.field_instruments(db, market_id)
    if not instruments:
        st.info(t("field.no_instruments"))
    else:
        field_batch.instrument_panel(db, market_id, instruments, latest_panel)

st.divider()
figs = data.running_figures(today, None if event else market_id, event["id"] if event else None)
st.subheader(t("field.figures_event") if event else t("field.figures_today"))
cols = st.columns(5)
for col, key in zip(cols, ("total", "negative", "positive", "suspicious", "invalid"), strict=True):
    col.metric(t("field.total") if key == "total" else t(f"verdict.{key}"),
               fmt.num(figs.get(key, 0)))
