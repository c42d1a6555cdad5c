"""Lab: watching the field methods (issue 19) — alerts about kit lots whose false-negative rate
went over the evaluation limit (``lims.lab.watch``), the agreement per lot, and the instrument
clocks against the listener's receive time (``lims.metrology.clocks``)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, identity
from dashboards import i18n as fmt
from dashboards.i18n import t
from dashboards.identity import actor
from lims.errors import LimsError
from lims.storage.engine import get_engine, session_scope


@st.cache_data(ttl=60, show_spinner=False)
def lab_alerts(db: str) -> list[dict]:
    from lims.lab import watch

    with session_scope(get_engine()) as s:
        return [{"id": a.id, "raised_at": a.raised_at, "acknowledged_at": a.acknowledged_at,
                 "acknowledged_by": a.acknowledged_by, **a.details}
                for a in watch.list_alerts(session=s)]


@st.cache_data(ttl=60, show_spinner=False)
def lots(db: str) -> list:
    from lims.lab import watch

    with session_scope(get_engine()) as s:
        return watch.lot_states(session=s)


@st.cache_data(ttl=60, show_spinner=False)
def clocks(db: str):
    from lims.metrology import clocks as svc

    with session_scope(get_engine()) as s:   # the last 30 days received (indexed, issue 17)
        return svc.clock_report(session=s, since=svc.default_since())


def _acknowledge(alert_id: int) -> None:
    from lims.lab import watch

    try:
        with data.session() as s:
            watch.acknowledge(session=s, actor=actor(), alert_id=alert_id)
    except LimsError as exc:
        st.session_state["watch_error"] = str(exc)
    data.clear()


identity.guard("lab")
st.title(t("page.method_watch"))
st.caption(t("watch.caption"))
db = data.db_key()

st.subheader(t("watch.alerts"))
if st.session_state.get("watch_error"):
    st.error(st.session_state.pop("watch_error"))
alerts = lab_alerts(db)
if not alerts:
    st.success(t("watch.no_alerts"))
for a in alerts:
    text = t("watch.lot_alert", lot=a.get("lot") or t("agree.no_lot"), method=a.get("method"),
             rate=fmt.pct(a.get("rate")), limit=fmt.pct(a.get("limit"), 0),
             fn=a.get("false_negatives"), n=a.get("lab_positives"),
             at=fmt.moment(a["raised_at"]))
    if a["acknowledged_at"] is None:
        c1, c2 = st.columns([5, 1])
        c1.error(text)
        c2.button(t("watch.acknowledge"), key=f"watch_ack_{a['id']}", on_click=_acknowledge,
                  args=(a["id"],))
    else:
        st.info(text + " " + t("watch.acknowledged", who=a["acknowledged_by"],
                                 at=fmt.moment(a["acknowledged_at"])))

states = lots(db)
if states:
    st.dataframe([{t("method"): x.method, t("agree.by_lot"): x.lot or t("agree.no_lot"),
                   t("watch.lab_positives"): x.lab_positives,
                   t("watch.false_negatives"): x.false_negatives,
                   t("agree.fnr"): fmt.pct(x.false_negative_rate),
                   t("agree.flag"): "⚠" if x.over else ""} for x in states],
                 hide_index=True, width="stretch")

st.subheader(t("watch.clocks"))
try:
    rep = clocks(db)
except LimsError as exc:
    st.error(str(exc))
    st.stop()
st.caption(t("watch.clocks_caption", drift=fmt.num(rep.drift_minutes),
             backdate=fmt.num(rep.backdate_minutes)))
if not rep.instruments:
    st.info(t("watch.no_clock_data"))
    st.stop()
for c in rep.drifting:
    st.warning(t("watch.drift", serial=c.serial, minutes=fmt.num(c.median_offset_minutes, 1)))
st.dataframe([{t("watch.instrument"): c.serial, t("watch.readings"): c.readings,
               t("watch.offset"): fmt.num(c.median_offset_minutes, 1),
               t("watch.worst"): fmt.num(c.worst_offset_minutes, 1),
               t("watch.last"): fmt.moment(c.last_received_at),
               t("agree.flag"): "⚠" if c.drift else ""} for c in rep.instruments],
             hide_index=True, width="stretch")
if rep.backdated:
    st.warning(t("watch.backdated", n=len(rep.backdated)))
    st.dataframe([{t("field.sample_code"): b.sample_code, t("watch.instrument"): b.serial,
                   t("watch.tested_at"): fmt.moment(b.tested_at),
                   t("watch.received_at"): fmt.moment(b.received_at),
                   t("watch.lag"): fmt.num(b.lag_minutes, 1), t("watch.journal"): b.journal_ref}
                  for b in rep.backdated], hide_index=True, width="stretch")
