"""Management: the alert inbox of a grid officer (a manager account with a grid group): the
group's open alerts, refreshed every few seconds without a reload, with the clock running
against the response target (refdata/enforcement.toml), and buttons to acknowledge and to record
arrival on site. One column and large targets: it is used on a phone.
Services: lims.enforcement.alerts (inbox, acknowledge, arrive)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, identity, widgets
from dashboards import i18n as fmt
from dashboards.i18n import labeller, lang, t
from dashboards.identity import actor, plain
from lims.enforcement import alerts
from lims.errors import LimsError
from lims.masterdata import records
from lims.timeutil import now

#: seconds between refreshes of the list (new alerts appear without a reload)
REFRESH_SECONDS = 15

identity.guard("management")
widgets.touch_css()
st.title(t("page.inbox"))
a = actor()
with data.session() as s:
    mine = alerts.user_grid_group(session=s, username=a.username) if a else None
    groups = {g.id: g.name for g in records.list_grid_groups(session=s)}
options: list[int | None] = [None, *groups]
if mine is None:
    st.caption(t("inbox.no_group"))
group = st.selectbox(t("inbox.group"), options, key="inbox_group",
                     index=options.index(mine) if mine in options else 0,
                     format_func=labeller(options, lambda g: t("inbox.all_groups") if g is None
                                          else groups[g]))
can_act = a is not None and a.can(alerts.PERMISSION)


def act(fn, alert_id: int) -> None:
    """Button callback: acknowledge or arrive now; the outcome is shown above the list."""
    try:
        with data.session() as s:
            fn(session=s, actor=a, alert_id=alert_id)
    except LimsError as exc:
        st.session_state["inbox_flash"] = ("error", str(exc))
    else:
        data.clear()
        done = "inbox.acknowledged" if fn is alerts.acknowledge else "inbox.arrived"
        st.session_state["inbox_flash"] = ("success", t(done, id=alert_id))


def card(item: alerts.InboxItem, at) -> None:
    commodity = item.commodity_zh if lang() == "zh" else item.commodity_en
    with st.container(border=True, key=f"inbox_card_{item.alert_id}"):
        st.markdown(f"**{widgets.verdict_chip(item.level)}** · {plain(item.market or '—')} · "
                    f"{plain(item.stall or t('field.resident'))} · {plain(commodity or '—')}")
        elapsed = max(item.elapsed_minutes(at), 0.0)
        text = t("inbox.elapsed", elapsed=fmt.duration(elapsed * 60),
                 target=fmt.num(item.target_minutes))
        st.progress(min(elapsed / max(item.target_minutes, 1e-9), 1.0), text=text)
        if item.overdue(at):
            st.warning(t("inbox.overdue", over=fmt.duration((elapsed - item.target_minutes) * 60)))
        st.caption(t("inbox.raised", at=fmt.moment(item.raised_at),
                     code=plain(item.sample_code or "—"),
                     group=plain(item.grid_group or t("inbox.no_group_name"))))
        if item.acknowledged_at is not None:
            st.caption(t("inbox.acked_by", at=fmt.moment(item.acknowledged_at),
                         who=plain(item.acknowledged_by)))
        if item.objection_deadline is not None:
            st.caption(t("inbox.objection_until", at=fmt.moment(item.objection_deadline)))
        if can_act:
            if item.acknowledged_at is None:
                st.button(t("inbox.ack"), key=f"inbox_ack_{item.alert_id}", width="stretch",
                          on_click=act, args=(alerts.acknowledge, item.alert_id))
            st.button(t("inbox.arrive"), key=f"inbox_arrive_{item.alert_id}", type="primary",
                      width="stretch", on_click=act, args=(alerts.arrive, item.alert_id))


@st.fragment(run_every=REFRESH_SECONDS)
def inbox_list(group_id: int | None) -> None:
    at = now()
    if flash := st.session_state.pop("inbox_flash", None):
        getattr(st, flash[0])(flash[1])
    with data.session() as s:
        items = alerts.inbox(session=s, grid_group_id=group_id, limit=50)
    st.caption(t("inbox.updated", time=fmt.moment(at), n=len(items),
                 seconds=REFRESH_SECONDS))
    if not items:
        st.success(t("inbox.none"))
        return
    for item in items:
        card(item, at)


inbox_list(group)
