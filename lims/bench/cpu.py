"""CPU time of a measured stretch: the bench process's own, its PostgreSQL server's, the whole
machine's. What a run of readings costs in CPU, unlike its wall time, leaves out waiting for the
other processes on the host (it still moves with the host's own speed), and it bounds what any
number of workers can reach on a machine of a given size (issue 15): at most
``cores / (CPU seconds per reading)`` readings per second.

* ``client``: ``time.process_time`` of this process (Python: validation, verdicts, rows, the
  in-thread HTTP server of the API bench; on SQLite the database engine too).
* ``server``: the CPU of the database's client backends, from ``/proc/PID/schedstat`` (Linux,
  nanoseconds on the CPU), for a PostgreSQL server on this machine (reached over loopback or a
  Unix socket); ``None`` elsewhere (a process that is not ``postgres`` is never read).
* ``busy``: the share of all the machine's cores that was busy (``/proc/stat``), for work spread
  over processes the bench does not own; ``tree_cpu``: the CPU of such a process and its
  children (``lims api serve --workers N``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

_BACKENDS = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend'")
#: the server is on this machine: reached over a Unix socket (no address) or loopback
_LOCAL = sa.text("SELECT inet_server_addr() IS NULL OR inet_server_addr() << '127.0.0.0/8' "
                 "OR inet_server_addr() = '::1'")


@dataclass
class Span:
    wall: float = 0.0
    client: float = 0.0
    server: float | None = None
    busy: float | None = None    # 0–1, of all cores

    @property
    def cpu(self) -> float:
        return self.client + (self.server or 0.0)


def on_cpu(pid: int) -> float | None:
    """Seconds process ``pid`` (a PostgreSQL backend) has been on a CPU, or None."""
    proc = Path(f"/proc/{pid}")
    try:
        if not (proc / "comm").read_text().startswith("postgres"):
            return None
        return int((proc / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name, or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants now alive (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def tree_cpu(root: int) -> float | None:
    """Seconds of CPU (user + system, all threads) of process ``root`` and its descendants now
    alive: a server's worker processes (``lims api serve --workers N``)."""
    if _stat(root) is None:
        return None
    ticks = sum(int(f[11]) + int(f[12])   # utime, stime
                for f in map(_stat, process_tree(root)) if f is not None)
    return ticks / os.sysconf("SC_CLK_TCK")


def _machine() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    ticks = [int(x) for x in first[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)   # idle + iowait
    return sum(ticks) - idle, sum(ticks)


class Meter:
    """``with meter: …`` adds the stretch to ``meter.total`` (and sets ``meter.last``)."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.total = Span(server=0.0 if engine.dialect.name == "postgresql" else None, busy=0.0)
        self.last = Span()

    def _backends(self) -> dict[int, float] | None:
        if self.engine.dialect.name != "postgresql":
            return None
        with self.engine.connect() as conn:
            if not conn.execute(_LOCAL).scalar_one():   # its pids are not this machine's
                return None
            pids = [r[0] for r in conn.execute(_BACKENDS)]
        seen = {pid: on_cpu(pid) for pid in pids}
        return {pid: t for pid, t in seen.items() if t is not None} or None

    def __enter__(self) -> Meter:
        self._b0 = self._backends()
        self._m0 = _machine()
        self._t0, self._c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        wall, client = time.perf_counter() - self._t0, time.process_time() - self._c0
        m1, b1 = _machine(), self._backends()
        server = None
        if self._b0 is not None and b1 is not None:   # a backend begun meanwhile: all of it
            server = sum(t - self._b0.get(pid, 0.0) for pid, t in b1.items())
        busy = None
        if self._m0 and m1 and m1[1] > self._m0[1]:
            busy = (m1[0] - self._m0[0]) / (m1[1] - self._m0[1])
        self.last = Span(wall, client, server, busy)
        self.total.wall += wall
        self.total.client += client
        if self.total.server is not None:
            self.total.server = None if server is None else self.total.server + server
        if self.total.busy is not None:   # weighted by wall time
            self.total.busy = None if busy is None else (
                self.total.busy * (self.total.wall - wall) + busy * wall) / self.total.wall


def writers(engine: sa.Engine) -> int:
    """How many batches can be stored at once: SQLite has one writer at a time (a batch holds
    its write lock from its first insert to its commit); PostgreSQL's workers run on every core."""
    return 1 if engine.dialect.name == "sqlite" else (os.cpu_count() or 1)


def per_reading(span: Span, n: int, writers: int) -> dict:
    """Microseconds of CPU per reading, and the readings/s that ``writers`` cores at once bound
    (``writers``: see ``writers``)."""
    out = {"client_us": span.client / n * 1e6,
           "server_us": None if span.server is None else span.server / n * 1e6,
           "cpu_us": span.cpu / n * 1e6, "writers": writers, "cores": os.cpu_count() or 1}
    out["bound"] = writers * n / span.cpu if span.cpu else None
    out["cores_for_20k"] = 20_000 * span.cpu / n
    return out


def target(c: dict) -> str:
    """The CPU per reading at which the writers could take 20 000 readings/s."""
    who = "one writer" if c["writers"] == 1 else f"{c['writers']} cores"
    return f"≤ {c['writers'] / 20_000 * 1e6:,.0f} µs for 20 000/s on {who}"


def note(c: dict, what: str) -> str:
    """A row's note: where the CPU went and what it bounds."""
    if c["server_us"] is None:
        split = f"{what} {c['client_us']:,.0f} µs (the database engine in it)"
    else:
        split = f"{what} {c['client_us']:,.0f} µs, PostgreSQL {c['server_us']:,.0f} µs"
    bound = f"{c['bound']:,.0f}" if c["bound"] else "?"
    if c["writers"] == 1:
        return (f"{split}; one writer at a time: at most {bound} readings/s by CPU on any "
                "number of cores")
    return (f"{split}; this machine's {c['writers']} cores could take at most {bound} "
            f"readings/s by CPU; 20 000/s takes the CPU of {c['cores_for_20k']:.1f} cores")
