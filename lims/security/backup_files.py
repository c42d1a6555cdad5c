"""The attachment files in a backup (issue 18): ``<backup>.attachments.tar`` beside the database
copy.

Attachments are content-addressed (``LIMS_VAR_DIR/attachments/<2 hex>/<sha256>``,
``lims.files.attachments``), so every file says what its content must be. ``lims backup`` tars
them after the database copy is taken (a file is on disk before the row that names it is
committed, so the tar holds every file the copy references; newer ones are harmless extras),
writing ``….attachments.tar.partial`` and renaming it into place; its SHA-256 goes into the
backup's head file. ``lims restore`` first checks the tar (its SHA-256 as noted, every member's
name and content hash) and refuses the whole restore when anything is off; after the database
is restored it writes the files that are missing or differ (atomically, like an upload) and
keeps the ones that are there. Thumbnails are not included: they are made again on demand.
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
from pathlib import Path

from lims.errors import LimsError
from lims.files import attachments

_NAME = re.compile(r"^attachments/([0-9a-f]{2})/([0-9a-f]{64})$")


def tar_path(backup: Path) -> Path:
    return Path(backup).with_name(Path(backup).name + ".attachments.tar")


def _files(var_dir: Path) -> list[tuple[str, Path]]:
    root = var_dir / attachments.DIRECTORY
    if not root.is_dir():
        return []
    out = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and len(p.name) == 2):
        for f in sorted(sub.iterdir()):
            name = f"{attachments.DIRECTORY}/{sub.name}/{f.name}"
            m = _NAME.match(name)
            if m and f.is_file() and m.group(2).startswith(m.group(1)):
                out.append((name, f))
    return out


def backup_files(var_dir: Path, backup: Path) -> dict:
    """Write ``<backup>.attachments.tar`` (atomically). Returns what to note in the head file."""
    out = tar_path(backup)
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    files = _files(Path(var_dir))
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in files:
            tar.add(path, arcname=name, recursive=False)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(out)
    h = hashlib.sha256()
    with out.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"file": out.name, "files": len(files), "sha256": h.hexdigest()}


def _members(tar: tarfile.TarFile, source: Path):
    for member in tar:
        if not (member.isfile() and _NAME.match(member.name)):
            raise LimsError(f"restore: {source}: unexpected entry {member.name!r}; "
                            "not an attachments archive written by `lims backup`")
        data = tar.extractfile(member).read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != member.name.rsplit("/", 1)[1]:
            raise LimsError(f"restore: {source}: {member.name} does not match its SHA-256 "
                            f"(content {digest}); the backup was altered")
        yield member.name, digest, data


def check_files(backup: Path, noted: dict | None) -> Path | None:
    """Before a restore: the backup's attachments tar (None when it has none) is the one noted
    and every file in it matches its name. Raises LimsError when not."""
    src = tar_path(backup)
    expected = (noted or {}).get("attachments")
    if not src.is_file():
        if expected:
            raise LimsError(f"restore: {src}: missing, but the backup was written with it "
                            f"({expected.get('files')} attachment file(s))")
        return None
    if expected and expected.get("sha256"):
        h = hashlib.sha256()
        with src.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != expected["sha256"]:
            raise LimsError(f"restore: {src}: its SHA-256 is {h.hexdigest()}, but it was "
                            f"{expected['sha256']} when it was written; the backup was altered")
    try:
        with tarfile.open(src, "r:") as tar:
            for _ in _members(tar, src):
                pass
    except tarfile.TarError as exc:
        raise LimsError(f"restore: {src}: not a readable tar file ({exc})") from None
    return src


def restore_files(src: Path, var_dir: Path) -> dict:
    """Write the files of a checked tar that are missing or differ under ``var_dir``."""
    restored = present = 0
    with tarfile.open(src, "r:") as tar:
        for name, digest, data in _members(tar, src):
            target = Path(var_dir) / name
            if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
                present += 1
                continue
            attachments._write_atomically(target, data)
            restored += 1
    return {"restored": restored, "present": present}
