"""Attachments: photos and scans on samples, cases (disposal evidence), patrols and calibration
records (issue 19).

A file is accepted when it is not empty, at most ``LIMS_ATTACHMENT_MAX_MB`` long and its content
is a PNG, JPEG or PDF — judged by its first bytes, never by its name. Refusals are
``ValidationFailed`` naming the file. The bytes are stored once per content under
``LIMS_VAR_DIR/attachments/<first two hex digits>/<sha256>``, written to a temporary file in the
same folder, fsynced and renamed into place (a reader never sees half a file; a crash leaves at
most a stray ``.tmp-*``). A row of ``attachment`` says whose file it is; attaching the same
content to the same owner again returns the row that is there.

On PostgreSQL the files stay on disk as well (no large objects): back up ``LIMS_VAR_DIR`` with
the database. A file written for a transaction that then rolls back stays on disk unreferenced;
it is harmless (the next upload of that content reuses it).

Permissions: attaching needs the owner's own permission (a sample: ``results.create``; a case:
``cases.manage``; a patrol: ``events.manage``; a calibration record: ``calibration.record``);
listing, reading and thumbnails need ``results.read``. Attaching is audited
(``attachment.add``) and so is reading a file's content (``attachment.read``); listing and
thumbnails are not (a page shows them on every view).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from PIL import Image, ImageOps
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lims.errors import ConfigError, InvalidInput, NotFound, RowError, ValidationFailed
from lims.models import Attachment, CalibrationRecord, EnforcementCase, PatrolLog, Sample
from lims.security import audit
from lims.security.auth import Actor, require
from lims.settings import load_settings, setting
from lims.timeutil import now

DIRECTORY = "attachments"
THUMB_DIRECTORY = "attachments/thumbs"
READ_PERMISSION = "results.read"
#: owner kind → (table, permission to attach)
OWNERS: dict[str, tuple[type, str]] = {
    "sample": (Sample, "results.create"),
    "case": (EnforcementCase, "cases.manage"),
    "patrol": (PatrolLog, "events.manage"),
    "calibration": (CalibrationRecord, "calibration.record"),
}
#: leading bytes → media type
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)
TYPE_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "application/pdf": "PDF"}
ALL_TYPES = tuple(TYPE_NAMES)
IMAGE_TYPES = ("image/png", "image/jpeg")
THUMB_PX = 160


# -- checking --------------------------------------------------------------------------------

def max_bytes() -> int:
    """The largest file accepted (setting LIMS_ATTACHMENT_MAX_MB)."""
    raw = setting("LIMS_ATTACHMENT_MAX_MB") or "10"
    try:
        mb = float(raw)
    except ValueError:
        mb = 0.0
    if not mb > 0:
        raise ConfigError(f"LIMS_ATTACHMENT_MAX_MB must be a number of MB above 0, got {raw!r}")
    return int(mb * 1024 * 1024)


def sniff(data: bytes) -> str | None:
    """The media type the content's first bytes show, or None."""
    return next((mime for magic, mime in SIGNATURES if data.startswith(magic)), None)


def _allowed(types: tuple[str, ...]) -> str:
    names = [n for n in ("PDF", "PNG", "JPEG") if n in {TYPE_NAMES[m] for m in types}]
    return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def check(data: bytes, name: str = "", *, types: tuple[str, ...] = ALL_TYPES,
          field: str = "file") -> str:
    """The media type of an acceptable file; else ValidationFailed naming the file and
    ``field``."""

    def bad(message: str) -> ValidationFailed:
        return ValidationFailed([RowError(name or field, field, message)], f"{field} file")

    if not data:
        raise bad("the file is empty")
    limit = max_bytes()
    if len(data) > limit:
        raise bad(f"the file is {len(data) / 1024 / 1024:.1f} MB; at most "
                  f"{limit / 1024 / 1024:g} MB (LIMS_ATTACHMENT_MAX_MB)")
    mime = sniff(data)
    if mime is None or mime not in types:
        raise bad(f"not a {_allowed(types)} file (judged by its content, not its name)")
    return mime


def clean_name(name: str, sha256: str, media_type: str) -> str:
    """The base name of an uploaded file (no folders), at most 200 characters; a name made of
    the hash when none was given."""
    base = PureWindowsPath(PurePosixPath(name.strip()).name).name.strip()
    if not base:
        base = f"{sha256[:12]}.{TYPE_NAMES[media_type].lower().replace('jpeg', 'jpg')}"
    return base[-200:]


# -- the store on disk -----------------------------------------------------------------------

def relative_path(sha256: str) -> str:
    """Where a content lives, relative to LIMS_VAR_DIR (forward slashes)."""
    return f"{DIRECTORY}/{sha256[:2]}/{sha256}"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):   # the rename itself survives a power cut
        dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def store(data: bytes, var_dir: Path | None = None) -> str:
    """Write the content once (a file already there with the right size is kept); its SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    base = var_dir if var_dir is not None else load_settings().var_dir
    path = base / relative_path(digest)
    try:
        if path.is_file() and path.stat().st_size == len(data):
            return digest
        _write_atomically(path, data)
    except OSError as exc:
        raise ConfigError(f"LIMS_VAR_DIR: cannot write {path} ({exc.strerror})") from None
    return digest


def load(sha256: str, var_dir: Path | None = None) -> bytes:
    """A stored content's bytes; NotFound when the file is missing or no longer matches."""
    base = var_dir if var_dir is not None else load_settings().var_dir
    path = base / relative_path(sha256)
    try:
        data = path.read_bytes()
    except OSError:
        raise NotFound(f"file {relative_path(sha256)} is not in the data directory") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise NotFound(f"file {relative_path(sha256)} does not match its recorded SHA-256")
    return data


# -- the service -----------------------------------------------------------------------------

def _owner(owner_kind: str) -> tuple[type, str]:
    try:
        return OWNERS[owner_kind]
    except KeyError:
        raise InvalidInput(f"owner_kind: {owner_kind!r} is not one of "
                           f"{', '.join(OWNERS)}") from None


def attach_permission(owner_kind: str) -> str:
    """The permission needed to attach a file to this kind of owner."""
    return _owner(owner_kind)[1]


def attach(session: Session, actor: Actor, owner_kind: str, owner_id: int, name: str,
           data: bytes, *, types: tuple[str, ...] = ALL_TYPES, field: str = "file",
           var_dir: Path | None = None) -> Attachment:
    """Check the file, store it (under ``var_dir``, default LIMS_VAR_DIR) and record it on its
    owner (audited ``attachment.add``). The same content on the same owner again: the existing
    attachment, nothing new written."""
    table, permission = _owner(owner_kind)
    require(actor, permission)
    if session.get(table, owner_id) is None:
        raise NotFound(f"no {owner_kind} with id {owner_id}")
    media_type = check(data, name, types=types, field=field)
    digest = store(data, var_dir)
    existing = _find(session, owner_kind, owner_id, digest)
    if existing is not None:
        return existing
    att = Attachment(owner_kind=owner_kind, owner_id=owner_id, sha256=digest,
                     name=clean_name(name, digest, media_type), media_type=media_type,
                     size=len(data), uploaded_by=actor.username[:60],
                     uploaded_at=now().replace(microsecond=0))
    try:
        with session.begin_nested():   # a concurrent upload of the same content may win
            session.add(att)
            session.flush()
    except IntegrityError:
        existing = _find(session, owner_kind, owner_id, digest)
        if existing is None:
            raise
        return existing
    audit.record(session=session, actor=actor, action="attachment.add", entity="attachment",
                 entity_id=att.id, new={"owner": f"{owner_kind}:{owner_id}", "name": att.name,
                                        "sha256": digest, "media_type": media_type,
                                        "size": att.size})
    return att


def _find(session: Session, owner_kind: str, owner_id: int, sha256: str) -> Attachment | None:
    return session.exec(select(Attachment).where(
        Attachment.owner_kind == owner_kind, Attachment.owner_id == owner_id,
        Attachment.sha256 == sha256)).first()


def list_for(session: Session, actor: Actor, owner_kind: str, owner_id: int
             ) -> list[Attachment]:
    """The owner's attachments, oldest first."""
    _owner(owner_kind)
    require(actor, READ_PERMISSION)
    return list(session.exec(select(Attachment).where(
        Attachment.owner_kind == owner_kind, Attachment.owner_id == owner_id)
        .order_by(Attachment.uploaded_at, Attachment.id)))


def _get(session: Session, attachment_id: int) -> Attachment:
    att = session.get(Attachment, attachment_id)
    if att is None:
        raise NotFound(f"no attachment with id {attachment_id}")
    return att


def read(session: Session, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
    """The attachment and its bytes (checked against the SHA-256; audited ``attachment.read``)."""
    require(actor, READ_PERMISSION)
    att = _get(session, attachment_id)
    data = load(att.sha256)
    audit.record(session=session, actor=actor, action="attachment.read", entity="attachment",
                 entity_id=att.id, new={"owner": f"{att.owner_kind}:{att.owner_id}",
                                        "sha256": att.sha256})
    return att, data


def thumbnail(session: Session, actor: Actor, attachment_id: int, px: int = THUMB_PX
              ) -> bytes | None:
    """A JPEG at most ``px`` pixels on its longer side of an image attachment (turned upright
    as the camera recorded it); None for a PDF or an image Pillow cannot decode. Made once per
    content and size, kept under LIMS_VAR_DIR/attachments/thumbs/."""
    require(actor, READ_PERMISSION)
    if not 16 <= px <= 1024:
        raise InvalidInput(f"px: a thumbnail is 16–1024 pixels, not {px}")
    att = _get(session, attachment_id)
    if att.media_type not in IMAGE_TYPES:
        return None
    base = load_settings().var_dir
    path = base / THUMB_DIRECTORY / att.sha256[:2] / f"{att.sha256}-{px}.jpg"
    if path.is_file():
        return path.read_bytes()
    out = make_thumbnail(load(att.sha256), px)
    if out is not None:
        try:
            _write_atomically(path, out)
        except OSError:
            pass   # a read-only data directory: the thumbnail is made again next time
    return out


def make_thumbnail(data: bytes, px: int = THUMB_PX) -> bytes | None:
    """JPEG thumbnail bytes of a PNG/JPEG, or None when the image cannot be decoded."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (px, px))   # JPEG: decode at a reduced scale
            img = ImageOps.exif_transpose(img)
            img.thumbnail((px, px))
            if img.mode in ("RGBA", "LA", "P"):
                img = img.convert("RGBA")
                flat = Image.new("RGB", img.size, "white")
                flat.paste(img, mask=img.getchannel("A"))
                img = flat
            elif img.mode != "RGB":
                img = img.convert("RGB")
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=80)
            return buf.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def case_sample_id(session: Session, case_id: int) -> int:
    """The sample a case was opened for (its page shows the sample's attachments too)."""
    case = session.get(EnforcementCase, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    return case.sample_id


def cases_with_photos(session: Session, case_ids: list[int] | None = None) -> set[int]:
    """Ids of cases with at least one attached photo (disposal evidence for the handling score)."""
    q = select(Attachment.owner_id).where(Attachment.owner_kind == "case",
                                          Attachment.media_type.in_(IMAGE_TYPES))
    if case_ids is not None:
        q = q.where(Attachment.owner_id.in_(case_ids))
    return set(session.exec(q.distinct()))
