"""The attachments of one owner (a sample, a case, a patrol, a calibration record) on any page:
thumbnails of the photos, a download button per file, and an upload form for a user whose role
may attach to that owner. ``panel("case", case_id)``. Service: lims.files.attachments (the
content checks, permissions and audit are there)."""

from __future__ import annotations

import streamlit as st

from dashboards import data
from dashboards import i18n as fmt
from dashboards.i18n import t
from dashboards.identity import actor, plain
from lims.errors import LimsError, ValidationFailed
from lims.files import attachments as svc
from lims.security.auth import Actor

ACCEPT = ["png", "jpg", "jpeg", "pdf"]
PER_ROW = 4


def _flash_key(owner_kind: str, owner_id: int) -> str:
    return f"att_flash_{owner_kind}_{owner_id}"


@st.cache_data(ttl=600, show_spinner=False, max_entries=500)
def _thumb(db: str, attachment_id: int, sha256: str, _a: Actor) -> bytes | None:
    """A thumbnail (cached per database, attachment and content; the list it belongs to was
    permission-checked for the viewer)."""
    try:
        with data.session() as s:
            return svc.thumbnail(s, _a, attachment_id)
    except LimsError:
        return None


def _download(a: Actor, attachment_id: int):
    """The file's bytes when the download button is clicked (reading is audited)."""

    def load() -> bytes:
        try:
            with data.session() as s:
                return svc.read(s, a, attachment_id)[1]
        except LimsError:
            return b""

    return load


def sample_of_case(case_id: int) -> int | None:
    """The id of the sample a case was opened for (None when the case is gone)."""
    try:
        with data.session() as s:
            return svc.case_sample_id(s, case_id)
    except LimsError:
        return None


def _upload(a: Actor, owner_kind: str, owner_id: int, key: str) -> None:
    mb = fmt.num(svc.max_bytes() / 1024 / 1024, 1)
    with st.form(f"{key}_form", clear_on_submit=True):
        files = st.file_uploader(t("attach.upload", mb=mb), type=ACCEPT,
                                 accept_multiple_files=True, key=f"{key}_files")
        slot = st.empty()
        go = st.form_submit_button(t("attach.save"), key=f"{key}_save")
    if not go:
        return
    if not files:
        slot.error(t("attach.nothing"))
        return
    try:
        with data.session() as s:   # all or nothing: a refused file keeps the others out too
            for f in files:
                svc.attach(s, a, owner_kind, owner_id, f.name, f.getvalue())
    except ValidationFailed as exc:
        slot.error("\n\n".join(t("attach.refused", name=str(e.row), message=e.message)
                               for e in exc.errors))
        return
    except LimsError as exc:
        slot.error(str(exc))
        return
    data.clear()
    st.session_state[_flash_key(owner_kind, owner_id)] = t("attach.saved", n=len(files))
    st.rerun()


def panel(owner_kind: str, owner_id: int | None, *, title: str | None = None) -> None:
    """The owner's files with thumbnails, and the upload form when the user may attach."""
    key = f"att_{owner_kind}_{owner_id}"
    st.markdown(f"**{title or t('attach.title.' + owner_kind)}**")
    a = actor()
    if a is None or owner_id is None:
        return
    if flash := st.session_state.pop(_flash_key(owner_kind, owner_id), None):
        st.success(flash)
    try:
        with data.session() as s:
            items = [(x.id, x.sha256, x.name, x.media_type, x.size, x.uploaded_by,
                      x.uploaded_at) for x in svc.list_for(s, a, owner_kind, owner_id)]
    except LimsError as exc:
        st.error(str(exc))
        return
    if not items:
        st.caption(t("attach.none"))
    db = data.db_key()
    for start in range(0, len(items), PER_ROW):
        cols = st.columns(PER_ROW)
        for col, (aid, sha, name, mime, size, by, at) in zip(
                cols, items[start:start + PER_ROW], strict=False):
            with col:
                thumb = _thumb(db, aid, sha, a) if mime in svc.IMAGE_TYPES else None
                if thumb:
                    st.image(thumb, width=svc.THUMB_PX)
                else:
                    st.markdown(":material/description:")
                st.caption(t("attach.caption", name=plain(name),
                             kb=fmt.num(max(size / 1024, 0.1), 1), by=plain(by),
                             at=fmt.moment(at)))
                st.download_button(t("attach.download"), _download(a, aid), file_name=name,
                                   mime=mime, key=f"{key}_dl_{aid}", on_click="ignore")
    if a.can(svc.attach_permission(owner_kind)):
        _upload(a, owner_kind, owner_id, key)
    else:
        st.caption(t("attach.read_only"))
