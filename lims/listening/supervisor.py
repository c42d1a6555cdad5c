"""Keep a child process running: restart it when it exits, with back-off, and say so.

``Supervised`` wraps one command (``lims listen --instrument … --port …`` in ``lims up``). It
looks like a ``subprocess.Popen`` to its owner (``poll``, ``send_signal``, ``wait``, ``kill``,
``args``, ``pid``), but ``poll()`` also restarts the child when it has exited on its own: after
``first_delay`` seconds, doubling up to ``max_delay`` while it keeps failing, back to
``first_delay`` once a run lasted ``stable_after`` seconds. ``poll()`` returns None while
supervised; once the owner sent a signal (stopping everything) it returns the child's exit code
and restarts nothing. Every exit and restart is reported through ``report`` (a log line).

A listener restarted this way loses nothing: it catches up from its journal (``Processor.open``).
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("lims.supervisor")


class Supervised:
    def __init__(self, args: Sequence[str], *, name: str, first_delay: float = 1.0,
                 max_delay: float = 60.0, stable_after: float = 60.0,
                 report: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, **popen_kwargs):
        self.args = list(args)
        self.name = name
        self.first_delay, self.max_delay, self.stable_after = first_delay, max_delay, stable_after
        self.delay = first_delay
        self.report = report or log.warning
        self.clock = clock
        self.popen_kwargs = popen_kwargs
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None
        self.restarts = 0
        self.stopping = False

    def start(self) -> Supervised:
        self.proc = subprocess.Popen(self.args, **self.popen_kwargs)
        self.started_at = self.clock()
        self.restart_at = None
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def poll(self) -> int | None:
        """None while supervised (restarting the child when it exited and its delay is over)."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if self.stopping:
            return rc
        if rc is None:
            return None
        t = self.clock()
        if self.restart_at is None:
            if t - self.started_at >= self.stable_after:
                self.delay = self.first_delay        # it ran well: start the back-off afresh
            self.restart_at = t + self.delay
            self.report(f"{self.name}: exited with code {rc} after {t - self.started_at:.1f} s; "
                        f"restarting in {self.delay:.1f} s")
            self.delay = min(self.delay * 2, self.max_delay)
        elif t >= self.restart_at:
            self.restarts += 1
            self.start()
            self.report(f"{self.name}: restarted (pid {self.proc.pid}, restart {self.restarts})")
        return None

    # -- stopping: like Popen, and no restart afterwards -------------------------------------
    def send_signal(self, sig: int) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def terminate(self) -> None:
        self.send_signal(15)

    def kill(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        self.stopping = True
        return self.proc.wait(timeout) if self.proc is not None else None
