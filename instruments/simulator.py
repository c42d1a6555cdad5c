"""Simulators speak the same bytes as real instruments; this runs one over a pyserial port.

A simulator is sans-I/O like a decoder: ``poll(now)`` returns the bytes it would put on the line
now, ``receive(data, now)`` takes what the host sent (ACK/NAK, commands). ``run`` moves the bytes.
Faults (corrupted checksum, dropped byte, garbage, NAK storm, silence, restart mid-message,
unstable readings, overload) are options of each simulator, chosen by name.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import serial


class Simulator(Protocol):
    name: str

    def poll(self, now: float) -> bytes: ...

    def receive(self, data: bytes, now: float) -> None: ...

    @property
    def done(self) -> bool: ...


def run(sim: Simulator, port: serial.SerialBase, *, stop: threading.Event | None = None,
        tick: float = 0.005, timeout: float | None = None) -> None:
    """Drive ``sim`` over an open port until it is done, ``stop`` is set or ``timeout`` passes."""
    start = time.monotonic()
    port.timeout = 0
    while not sim.done and not (stop is not None and stop.is_set()):
        now = time.monotonic()
        if timeout is not None and now - start > timeout:
            break
        waiting = port.in_waiting
        if waiting:
            sim.receive(port.read(waiting), now)
        out = sim.poll(now)
        if out:
            port.write(out)
            port.flush()
        else:
            time.sleep(tick)
