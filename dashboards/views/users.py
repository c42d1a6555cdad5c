"""Admin: user accounts — list, add, disable/enable, unlock, set a password."""

from __future__ import annotations

import streamlit as st

from dashboards import data, identity
from dashboards import i18n as fmt
from dashboards.i18n import labeller, t
from dashboards.identity import actor
from lims.errors import LimsError
from lims.models.enums import Role
from lims.security import users

identity.guard("admin")
st.title(t("page.users"))
a = actor()
if a is None or not a.can("users.manage"):
    st.warning(t("users.admins_only"))
    st.stop()


def run(fn, **kw) -> bool:
    try:
        with data.session() as s:
            fn(session=s, actor=a, **kw)
    except LimsError as exc:
        st.error(str(exc))
        return False
    data.clear()
    st.success(t("users.done"))
    return True


with data.session() as s:
    infos = users.list_users(session=s, actor=a)
st.dataframe([{t("auth.username"): u.username, t("users.display_name"): u.display_name,
               t("auth.role"): t(f"role.{u.role}"), t("ref.active"): "✓" if u.active else "✗",
               t("users.locked_until"): fmt.moment(u.locked_until),
               t("users.has_password"): "✓" if u.has_password else "✗",
               t("users.created"): fmt.moment(u.created_at)} for u in infos],
             hide_index=True, width="stretch")

with st.form("user_add", clear_on_submit=True):
    st.subheader(t("users.add"))
    c1, c2 = st.columns(2)
    username = c1.text_input(t("auth.username"), key="ua_name")
    display = c2.text_input(t("users.display_name"), key="ua_display")
    role = c1.selectbox(t("auth.role"), list(Role), format_func=labeller(list(Role), lambda r: t(f"role.{r}")),
                        key="ua_role")
    password = c2.text_input(t("auth.password"), type="password", key="ua_pw")
    if st.form_submit_button(t("users.add"), type="primary"):
        run(users.add_user, username=username, role=role, password=password,
            display_name=display)

if infos:
    st.subheader(t("users.change"))
    who = st.selectbox(t("auth.username"), [u.username for u in infos], key="uc_name")
    info = next(u for u in infos if u.username == who)
    reason = st.text_input(t("reason"), key="uc_reason")
    c1, c2, c3 = st.columns(3)
    if c1.button(t("users.disable") if info.active else t("users.enable"), key="uc_active"):
        run(users.set_active, username=who, active=not info.active, reason=reason)
    if c2.button(t("users.unlock"), key="uc_unlock", disabled=info.locked_until is None):
        run(users.unlock_user, username=who, reason=reason)
    new_pw = c3.text_input(t("users.new_password"), type="password", key="uc_pw")
    if c3.button(t("users.set_password"), key="uc_set_pw"):
        run(users.set_password, username=who, password=new_pw)
