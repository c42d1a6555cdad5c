"""A null-modem cable between two pseudo-terminals, in pure Python (what
``socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B`` does), so `lims up` needs nothing beyond
Python: a simulator opens one end, a listener the other, and every byte crosses unchanged.

Run as ``python -m instruments.nullmodem LINK_A LINK_B``; it creates the two symlinks to the pty
devices and shuttles bytes until terminated (SIGTERM/SIGINT), then removes the links.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import tty
from pathlib import Path


def _open_end(link: Path) -> tuple[int, int]:
    master, slave = os.openpty()
    tty.setraw(slave)          # raw, no echo: bytes pass unchanged
    link.unlink(missing_ok=True)
    link.symlink_to(os.ttyname(slave))
    return master, slave       # the slave fd stays open so the master never sees a hang-up


def bridge(link_a: Path, link_b: Path, *, stop_fd: int | None = None) -> None:
    """Create both ends and copy bytes between them until ``stop_fd`` is readable or a signal."""
    ma, sa = _open_end(link_a)
    mb, sb = _open_end(link_b)
    peer = {ma: mb, mb: ma}
    running = {"on": True}

    def _stop(*_):
        running["on"] = False

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    watch = [ma, mb] + ([stop_fd] if stop_fd is not None else [])
    try:
        while running["on"]:
            try:
                ready, _, _ = select.select(watch, [], [], 0.2)
            except InterruptedError:
                continue
            for fd in ready:
                if fd == stop_fd:
                    return
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                if data:
                    os.write(peer[fd], data)
    finally:
        for p in (link_a, link_b):
            p.unlink(missing_ok=True)
        for fd in (ma, sa, mb, sb):
            os.close(fd)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m instruments.nullmodem LINK_A LINK_B", file=sys.stderr)
        return 2
    bridge(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
