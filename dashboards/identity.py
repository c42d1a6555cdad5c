"""Who is using the app.

With user accounts in the database the sidebar shows a login form; the session token (from
``lims.security.sessions``) lives in ``st.session_state`` and is checked on every run, so an
expired or ended session logs the user out.

A database without any user account is one of two things:

* a **demo database** (``lims demo`` loaded it and left its ``demo.load`` audit event, see
  ``lims.demo.loader.is_demo_database``): a clearly marked local demo mode where you pick a role
  to see its pages. The picker never offers the admin role, and the admin section (account
  management) is refused in demo mode, so nobody can create an account from the browser;
* anything else (a **production database** before ``lims init`` made the first admin): the app
  says "no account yet: create the first admin with ``lims init``" and shows nothing else.

The actor is ``st.session_state["actor"]`` (a ``lims.security.auth.Actor``, or None for the public).
Pages read it with ``actor()`` and pass it to services, which check the permission.
"""

from __future__ import annotations

import re

import streamlit as st

from dashboards import data
from dashboards.i18n import labeller, t
from lims.errors import AuthenticationFailed, LimsError, SessionExpired
from lims.models.enums import Role
from lims.security import sessions, users
from lims.security.auth import Actor
from lims.security.policy import load_policy

#: navigation sections each role sees (the public board is always there)
SECTIONS: dict[Role | None, tuple[str, ...]] = {
    None: ("public",),
    Role.FIELD_TESTER: ("field", "outreach", "public"),
    Role.LAB_TECHNICIAN: ("lab", "field", "outreach", "public"),
    Role.MANAGER: ("management", "outreach", "public"),
    Role.ADMIN: ("management", "lab", "field", "outreach", "admin", "public"),
}


_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: str) -> str:
    """User text (case notes, notices, typed codes) for ``st.markdown``: every ASCII punctuation
    mark backslash-escaped, so it shows as typed — no images loaded, no links (``http://`` and
    ``www.`` are not linked either), no emphasis — and line breaks become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def actor() -> Actor | None:
    return st.session_state.get("actor")


def role() -> Role | None:
    a = actor()
    return a.role if a else None


#: the roles the demo mode's picker offers: never the admin (no account management in a demo)
DEMO_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.ADMIN)


@st.cache_data(ttl=30, show_spinner=False)
def _is_demo_database(db: str) -> bool:
    from lims.demo.loader import is_demo_database

    with data.session() as s:
        return is_demo_database(s)


def demo_mode() -> bool:
    """True when the database has no user account and ``lims demo`` marked it as a demo."""
    db = data.db_key()
    return data.user_count(db) == 0 and _is_demo_database(db)


def needs_first_admin() -> bool:
    """True on a database without any user account that is not a demo database."""
    db = data.db_key()
    return data.user_count(db) == 0 and not _is_demo_database(db)


def sidebar() -> None:
    """The identity box in the sidebar: log in/out, or pick a role in local demo mode; on a
    production database without any account, only the "create the first admin" message."""
    box = st.sidebar.container(border=True)
    if needs_first_admin():
        st.session_state["actor"] = None
        st.session_state.pop("auth_token", None)
        box.markdown(f"**{t('auth.no_account_title')}**")
        box.caption(t("auth.no_account"))
        st.title(t("auth.no_account_title"))
        st.info(t("auth.no_account"))
        st.stop()
    if demo_mode():
        _demo_box(box)
    else:
        _check_session(box)
        _login_box(box)


def _demo_box(box) -> None:
    box.markdown(f"**⚠️ {t('auth.demo_mode')}**")
    box.caption(t("auth.demo_help"))
    options: list[Role | None] = [None, *DEMO_ROLES]
    current = role()
    a = actor()
    if a is not None and (current not in options or a.username != f"demo-{current}"):
        # an actor that the picker did not make (e.g. left from a login before): drop it
        st.session_state["actor"] = None
        current = None
    choice = box.selectbox(t("auth.role"), options, index=options.index(current),
                           format_func=labeller(options, lambda r: t("role.public") if r is None
                                                   else t(f"role.{r}")),
                           key="demo_role")
    if choice != current:
        st.session_state["actor"] = None if choice is None else Actor(f"demo-{choice}", choice)
        st.session_state["land_on_home"] = True
        st.rerun()


def _check_session(box) -> None:
    token = st.session_state.get("auth_token")
    if token is None:
        st.session_state["actor"] = None
        return
    try:
        with data.session() as s:
            st.session_state["actor"] = sessions.resolve_session(session=s, token=token)
    except SessionExpired as exc:
        st.session_state["actor"] = None
        st.session_state.pop("auth_token", None)
        box.warning(t("auth.expired", reason=str(exc)))


def _login_box(box) -> None:
    a = actor()
    if a is not None:
        box.markdown(t("auth.signed_in", user=a.username, role=t(f"role.{a.role}")))
        if box.button(t("auth.logout"), key="logout"):
            with data.session() as s:
                sessions.end_session(session=s, token=st.session_state.pop("auth_token", None))
            st.session_state["actor"] = None
            st.rerun()
        return
    with box.form("login", border=False):
        st.markdown(f"**{t('auth.login')}**")
        username = st.text_input(t("auth.username"), key="login_user")
        password = st.text_input(t("auth.password"), type="password", key="login_pw")
        submitted = st.form_submit_button(t("auth.login"))
    if submitted:
        try:
            with data.session() as s:
                who = users.authenticate(session=s, username=username.strip(), password=password)
                token = sessions.create_session(session=s, actor=who)
        except AuthenticationFailed:
            # one answer for an unknown user, a wrong password, a disabled or locked account
            p = load_policy()
            box.error(t("auth.login_refused", max_failed=p.max_failed,
                        minutes=int(p.lockout.total_seconds() // 60)))
        except LimsError as exc:
            box.error(t("auth.failed", reason=str(exc)))
        else:
            st.session_state["auth_token"] = token
            st.session_state["actor"] = who
            st.session_state["land_on_home"] = True
            st.rerun()
    else:
        box.caption(t("auth.public_hint"))


def guard(section: str) -> None:
    """Stop the page unless the current role may see ``section`` (navigation hides it, but a
    bookmarked URL must not bypass that)."""
    if section not in SECTIONS[role()]:
        st.warning(t("auth.not_allowed"))
        st.stop()
    if section == "admin" and demo_mode():
        st.warning(t("auth.demo_no_users"))
        st.stop()
