"""Shared by the set-up pages (dashboards/views/setup*.py): who may use them, the error table,
and saving through a ``lims.masterdata`` service with the outcome shown after the rerun."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboards import data
from dashboards.i18n import t
from dashboards.identity import actor
from lims.errors import LimsError, ValidationFailed
from lims.masterdata import scope
from lims.security.auth import Actor


def gate() -> tuple[Actor, list[str] | None]:
    """The actor and the counties they may edit (None: all); stops the page for anyone who
    may not set up master data (admins everywhere, managers their own county)."""
    a = actor()
    if a is None or not scope.may_edit_any(a):
        st.warning(t("setup.admins_only"))
        st.stop()
    with data.session() as s:
        counties = scope.counties(s, a)
    if counties == []:
        st.warning(t("setup.no_county"))
        st.stop()
    if counties:
        st.caption(t("setup.county_only", county=counties[0]))
    return a, counties


def show_errors(exc: ValidationFailed) -> None:
    """Each bad field named: which one and what is wrong with it."""
    st.error(t("setup.bad", n=len(exc.errors)))
    st.dataframe([{t("setup.sheet"): getattr(e, "sheet", ""), t("setup.line"): e.row,
                   t("setup.column"): e.field, t("setup.message"): e.message}
                  for e in exc.errors], hide_index=True, width="stretch")


def run(a: Actor, fn: Callable, **kw) -> bool:
    """Call a master-data service in a transaction; bad input shown, never an exception box.
    On success the page reruns (tables show the change) with a flash of the outcome."""
    try:
        with data.session() as s:
            outcome = fn(session=s, actor=a, **kw)
    except ValidationFailed as exc:
        show_errors(exc)
        return False
    except LimsError as exc:
        st.error(str(exc))
        return False
    data.clear()
    st.session_state["setup_flash"] = t("setup.saved", outcome=t(f"setup.{outcome or 'updated'}"))
    st.rerun()
    return True


def flash() -> None:
    if message := st.session_state.pop("setup_flash", None):
        st.success(message)


def tick(flag: bool) -> str:
    return "✓" if flag else "✗"


#: each first-run step: the page with its form
STEP_PAGES = {"grid_groups": "views/setup_people.py", "markets": "views/setup.py",
              "vendors": "views/setup.py", "instruments": "views/setup_instruments.py",
              "kits": "views/setup_instruments.py", "testers": "views/users.py",
              "managers": "views/users.py"}


@st.cache_data(ttl=5, show_spinner=False)
def _steps(db: str) -> list:
    from lims.masterdata.status import setup_steps

    with data.session() as s:
        return setup_steps(session=s)


def checklist(*, always: bool = False) -> None:
    """The first-run checklist: what this county still has to set up, each with a link to its
    form. Shown while a required step is missing (or ``always``)."""
    steps = _steps(data.db_key())
    if not always and all(x.done for x in steps if x.required):
        return
    box = st.container(border=True)
    box.markdown(f"**{t('firstrun.title')}**")
    box.caption(t("firstrun.help"))
    for x in steps:
        mark = "✅" if x.done else ("⬜" if not x.required else "❗")
        label = f"{mark} {t(f'firstrun.{x.key}')}" + (f" ({x.count})" if x.done else "")
        box.page_link(STEP_PAGES[x.key], label=label)
