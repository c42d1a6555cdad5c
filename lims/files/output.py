"""Writing an output file named by the user (every ``--out``).

A regular file (or a new one) is written next to the target as ``NAME.part`` and renamed over
it when complete, so a failed or interrupted write never leaves half a file under the real name.
A target that exists and is not a regular file — ``/dev/null``, ``/dev/stdout``, a FIFO, a
terminal — is written in place: renaming over it would replace a device node with a regular file
(run as root, ``--out /dev/null`` used to do exactly that).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from lims.errors import InvalidInput


def _special(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(mode):
        raise InvalidInput(f"--out {path}: is a directory; give a file name")
    return not stat.S_ISREG(mode)


@contextmanager
def open_output(path: Path | str) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through (see the module doc)."""
    path = Path(path)
    if _special(path):
        with open(path, "wb") as fh:
            yield fh
        return
    if not path.parent.is_dir():
        raise InvalidInput(f"--out {path}: the folder {path.parent} does not exist")
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_output(path: Path | str, data: bytes | str, encoding: str = "utf-8") -> int:
    """Write all of ``data`` to ``path``; returns the number of bytes."""
    blob = data.encode(encoding) if isinstance(data, str) else data
    with open_output(path) as fh:
        fh.write(blob)
    return len(blob)
