"""Certificate files uploaded with a calibration record: checked, then stored content-addressed.

A file is accepted when it is not empty, at most ``MAX_BYTES`` long and its content is a PDF,
PNG or JPEG (judged by the first bytes, not the name). It is stored once per content under
``LIMS_VAR_DIR/certificates/<first two hex digits>/<sha256>.<ext>``: uploading the same scan
twice keeps one file. The record keeps the path (relative to ``LIMS_VAR_DIR``), the SHA-256 and
the MIME type (columns ``certificate_*`` of ``calibration_record``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from lims.errors import NotFound, RowError, ValidationFailed
from lims.settings import load_settings

MAX_BYTES = 10 * 1024 * 1024
DIRECTORY = "certificates"
#: leading bytes → (MIME type, extension)
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)


@dataclass(frozen=True)
class StoredFile:
    path: str        # relative to LIMS_VAR_DIR, with forward slashes
    sha256: str
    mime: str
    size: int


def check_file(data: bytes, filename: str = "", field: str = "certificate",
               kinds: tuple[str, ...] = ("pdf", "png", "jpg")) -> tuple[str, str]:
    """(MIME type, extension) of an acceptable file; else ValidationFailed naming ``field``
    (certificates: PDF, PNG or JPEG; photos: ``kinds=("png", "jpg")``)."""
    name = filename or field

    def bad(message: str) -> ValidationFailed:
        return ValidationFailed([RowError(name, field, message)], f"{field} file")

    if not data:
        raise bad("the file is empty")
    if len(data) > MAX_BYTES:
        raise bad(f"the file is {len(data) / 1024 / 1024:.1f} MB; at most "
                  f"{MAX_BYTES // 1024 // 1024} MB")
    for magic, mime, ext in SIGNATURES:
        if data.startswith(magic) and ext in kinds:
            return mime, ext
    names = [{"pdf": "PDF", "png": "PNG", "jpg": "JPEG"}[k] for k in kinds]
    allowed = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    raise bad(f"not a {allowed} file (judged by its content)")


def store_file(data: bytes, filename: str = "", var_dir: Path | None = None,
               directory: str = DIRECTORY, field: str = "certificate",
               kinds: tuple[str, ...] = ("pdf", "png", "jpg")) -> StoredFile:
    """Check the file and write it under the data directory (once per content), in
    ``directory`` (certificates; patrol photos go to ``photos``)."""
    mime, ext = check_file(data, filename, field, kinds)
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{directory}/{digest[:2]}/{digest}.{ext}"
    base = var_dir if var_dir is not None else load_settings().var_dir
    path = base / rel
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.part")
        tmp.write_bytes(data)
        tmp.replace(path)    # atomic: a reader never sees half a file
    return StoredFile(rel, digest, mime, len(data))


def read_file(rel: str, sha256: str = "", var_dir: Path | None = None) -> bytes:
    """The stored file's bytes (NotFound when missing or when its content no longer matches)."""
    base = var_dir if var_dir is not None else load_settings().var_dir
    path = base / rel
    if not rel or ".." in Path(rel).parts or not path.is_file():
        raise NotFound(f"file {rel!r} is not in the data directory")
    data = path.read_bytes()
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise NotFound(f"file {rel!r} does not match its recorded SHA-256")
    return data
