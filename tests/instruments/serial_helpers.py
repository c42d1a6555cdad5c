"""Real transports for instrument tests: a pty (os.openpty) and a TCP null-modem for socket://."""

from __future__ import annotations

import os
import select
import socket
import threading
import time

from instruments.base import Event, Send


class PtyPair:
    """``path`` is the slave (the driver side: open it first); the simulator uses ``master``."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def pump_master(sim, master: int, stop: threading.Event, timeout: float = 30.0) -> None:
    """Drive a sans-I/O simulator over the pty master until it is done or ``stop`` is set."""
    start = time.monotonic()
    while not sim.done and not stop.is_set() and time.monotonic() - start < timeout:
        now = time.monotonic()
        ready, _, _ = select.select([master], [], [], 0)
        if ready:
            sim.receive(os.read(master, 4096), now)
        out = sim.poll(now)
        if out:
            os.write(master, out)
        else:
            time.sleep(0.002)


def host_loop(port, decoder, until, timeout: float = 30.0) -> tuple[list[Event], int]:
    """Read the port, feed the decoder, write its ``Send`` events back, until ``until(events)``.
    Returns the events and the number of bytes read."""
    events: list[Event] = []
    nread = 0
    port.timeout = 0
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        now = time.monotonic()
        data = port.read(port.in_waiting or 1)
        nread += len(data)
        evs = decoder.feed(data, now) if data else []
        evs += decoder.poll(now)
        for e in evs:
            if isinstance(e, Send):
                port.write(e.data)
        events += evs
        if until(events):
            return events, nread
        if not data:
            time.sleep(0.002)
    raise AssertionError(f"host loop timed out after {timeout} s with {len(events)} events")


class TcpNullModem:
    """A local TCP relay joining two ``socket://`` clients, like a null-modem cable."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        a, _ = self.server.accept()
        b, _ = self.server.accept()
        peers = {a: b, b: a}
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select(list(peers), [], [], 0.05)
                for s in ready:
                    data = s.recv(4096)
                    if not data:
                        return
                    peers[s].sendall(data)
        finally:
            a.close()
            b.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()
