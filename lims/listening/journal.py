"""The raw journal: every byte an instrument sent, durable before it is acknowledged.

One directory per instrument under ``LIMS_VAR_DIR/journal/<serial>/``, one append-only file per
UTC day (``YYYYMMDD.jnl``). Each entry is one text line::

    2026-11-25T08:15:02.123456+00:00 RX KJ12-0001 97 Q0gwMSxTMjAyNjA1…

time (UTC, ISO 8601), kind, instrument serial, byte count, the bytes in base64. Kinds: ``RX``
bytes received from the instrument, ``TX`` bytes the listener sent (ACK/NAK), ``START`` a listener
(re)start (no bytes; replays use it to keep decoder timeouts as they were live). An ``RX`` line is
written and fsync'd before the decoder sees its bytes, so before anything is acknowledged. A line
torn by a crash (no newline, or a count that does not match) is skipped by readers.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from lims.errors import LimsError

log = logging.getLogger("lims.journal")
KINDS = ("RX", "TX", "START")


def instrument_dir(root: Path, serial: str) -> Path:
    return Path(root) / re.sub(r"[^A-Za-z0-9._-]", "_", serial)


@dataclass(frozen=True)
class Entry:
    file: str            # file name inside the instrument's directory
    offset: int          # byte offset of the line
    next_offset: int     # byte offset of the following line
    at: datetime
    kind: str
    serial: str
    data: bytes


class Journal:
    """Appends entries for one instrument; holds an exclusive lock while open."""

    def __init__(self, root: Path, serial: str):
        self.serial = serial
        self.dir = instrument_dir(root, serial)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.dir / ".lock", "a")  # noqa: SIM115 - held for the object's life
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise LimsError(f"another listener is already running for instrument {serial!r} "
                            f"(journal {self.dir} is locked)") from None
        self._fh = None
        self._file: str | None = None

    def _open(self, at: datetime) -> None:
        name = f"{at.astimezone(UTC):%Y%m%d}.jnl"
        if name == self._file:
            return
        if self._fh is not None:
            self._fh.close()
        path = self.dir / name
        fh = open(path, "ab")  # noqa: SIM115 - kept open between appends
        if fh.tell() > 0:
            with open(path, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":      # torn by a crash: end it so readers skip it
                    fh.write(b"\n")
        self._fh, self._file = fh, name

    def append(self, kind: str, data: bytes, *, at: datetime | None = None,
               sync: bool = True) -> Entry:
        assert kind in KINDS
        at = at or datetime.now(UTC)
        self._open(at)
        assert self._fh is not None and self._file is not None
        payload = base64.b64encode(data).decode("ascii") if data else "-"
        line = f"{at.isoformat()} {kind} {self.serial} {len(data)} {payload}\n".encode("ascii")
        offset = self._fh.tell()
        self._fh.write(line)
        self._fh.flush()
        if sync:
            os.fsync(self._fh.fileno())
        return Entry(self._file, offset, offset + len(line), at, kind, self.serial, data)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._lock.close()


def parse_line(line: bytes) -> tuple[datetime, str, str, bytes] | None:
    """(time, kind, serial, data) of one journal line, or None when it is torn or not an entry."""
    try:
        at_s, kind, serial, n_s, payload = line.decode("ascii").rstrip("\n").split(" ")
        data = b"" if payload == "-" else base64.b64decode(payload, validate=True)
        if kind not in KINDS or len(data) != int(n_s):
            return None
        return datetime.fromisoformat(at_s), kind, serial, data
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None


def files(root: Path, serial: str, since: date | None = None) -> list[str]:
    d = instrument_dir(root, serial)
    names = sorted(p.name for p in d.glob("*.jnl")) if d.is_dir() else []
    if since is not None:
        names = [n for n in names if n[:8] >= f"{since:%Y%m%d}"]
    return names


def serials(root: Path) -> list[str]:
    """Serial numbers of the instruments with a journal (as written in their entries)."""
    out = []
    for d in sorted(p for p in Path(root).glob("*") if p.is_dir()):
        first = next(read(root, d.name), None)
        out.append(first.serial if first is not None else d.name)
    return out


def read(root: Path, serial: str, *, start_file: str | None = None, start_offset: int = 0,
         since: date | None = None) -> Iterator[Entry]:
    """Entries in order, from ``start_file``/``start_offset`` (or the first file) to the end."""
    d = instrument_dir(root, serial)
    for name in files(root, serial, since):
        if start_file is not None and name < start_file:
            continue
        offset = start_offset if name == start_file else 0
        with open(d / name, "rb") as fh:
            fh.seek(offset)
            for line in fh:
                nxt = offset + len(line)
                parsed = parse_line(line) if line.endswith(b"\n") else None
                if parsed is None:
                    if line.strip():
                        log.warning("journal %s/%s offset %d: torn or damaged line skipped",
                                    d.name, name, offset)
                else:
                    at, kind, ser, data = parsed
                    yield Entry(name, offset, nxt, at, kind, ser, data)
                offset = nxt
