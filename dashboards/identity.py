"""Who is using the app: a login when the security service offers one, else a demo role picker.

The actor lives in ``st.session_state["actor"]`` (a ``lims.services.auth.Actor`` or None for the
public). Pages read it with ``actor()`` and pass it to services, which check the permission.
"""

from __future__ import annotations

import streamlit as st

from dashboards.i18n import t
from lims.models.enums import Role
from lims.services import users
from lims.services.auth import Actor

#: navigation sections each role sees (the public board is always there)
SECTIONS: dict[Role | None, tuple[str, ...]] = {
    None: ("public",),
    Role.FIELD_TESTER: ("field", "public"),
    Role.LAB_TECHNICIAN: ("lab", "field", "public"),
    Role.MANAGER: ("management", "public"),
    Role.ADMIN: ("management", "lab", "field", "admin", "public"),
}


def actor() -> Actor | None:
    return st.session_state.get("actor")


def role() -> Role | None:
    a = actor()
    return a.role if a else None


def login_available() -> bool:
    """True once the security service provides ``users.authenticate``."""
    return hasattr(users, "authenticate")


def sidebar() -> None:
    """The identity box in the sidebar: log in/out, or pick a role in local demo mode."""
    box = st.sidebar.container(border=True)
    if login_available():
        _login_box(box)
    else:
        _demo_box(box)


def _demo_box(box) -> None:
    box.markdown(f"**{t('auth.demo_mode')}**")
    box.caption(t("auth.demo_help"))
    options = [None, *Role]
    current = role()
    choice = box.selectbox(t("auth.role"), options, index=options.index(current),
                           format_func=lambda r: t("role.public") if r is None else t(f"role.{r}"),
                           key="demo_role")
    if choice != current:
        st.session_state["actor"] = None if choice is None else Actor(f"demo-{choice}", choice)
        st.rerun()


def _login_box(box) -> None:
    a = actor()
    if a is not None:
        box.markdown(t("auth.signed_in", user=a.username, role=t(f"role.{a.role}")))
        if box.button(t("auth.logout"), key="logout"):
            st.session_state["actor"] = None
            st.rerun()
        return
    with box.form("login", border=False):
        st.markdown(f"**{t('auth.login')}**")
        username = st.text_input(t("auth.username"), key="login_user")
        password = st.text_input(t("auth.password"), type="password", key="login_pw")
        if st.form_submit_button(t("auth.login")):
            from dashboards.data import session
            from lims.services.errors import LimsError

            try:
                with session() as s:
                    st.session_state["actor"] = users.authenticate(
                        session=s, username=username.strip(), password=password)
            except LimsError as exc:
                st.error(t("auth.failed", reason=str(exc)))
            else:
                st.rerun()
