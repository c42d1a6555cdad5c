"""Simulated balances that speak the same bytes as the real ones, with faults by name.

Each streams ``count`` readings (None: endless) every ``interval`` seconds (``mode="stream"``;
``mode="respond"`` sends only when asked) and answers the driver's commands (A&D Q/S/SI/SIR/C,
MT-SICS S/SI/SIR/Z/T/I4/@, SBI ESC P, Ohaus P/IP). Faults (a fixed pattern over the line index,
values from ``seed``):

- ``unstable``: every third line (index 1, 4, 7 …) is an unstable reading;
- ``overload``: every fifth line (index 3, 8 …) is an overload (not for Ohaus: no documented line);
- ``drop_byte``: every fourth line (index 2, 6 …) loses one byte;
- ``garbage``: random bytes before every fourth line (index 3, 7 …);
- ``silence``: line 2 stops half-way and the line stays silent ``silence_seconds``;
- ``restart_mid_message``: line 2 stops half-way; after ``restart_delay`` the balance starts over.
"""

from __future__ import annotations

import abc
import random

from instruments.pacing import Pacer

FAULTS = frozenset({"drop_byte", "garbage", "silence", "restart_mid_message", "unstable",
                    "overload"})
ESC = 0x1B


def _check(faults, supported: frozenset[str], name: str) -> frozenset[str]:
    chosen = frozenset(faults or ())
    if unknown := chosen - supported:
        raise ValueError(f"{name} simulator: unknown fault(s) {sorted(unknown)}; "
                         f"supported: {sorted(supported)}")
    return chosen


class BalanceSimulator(abc.ABC):
    """Base: subclasses give ``name``, ``unit``, ``line(value, kind)`` and ``command(text)``."""

    name = "balance"
    unit = "g"
    supported = FAULTS
    mass_range = (50.0, 500.0)

    def __init__(self, *, faults=(), count: int | None = 10, seed: int = 1, interval: float = 0.2,
                 mode: str = "stream", silence_seconds: float = 3.0, restart_delay: float = 0.5,
                 serial: str | None = None, byte_time: float = 0.0,
                 live_clock: bool = False) -> None:
        if mode not in ("stream", "respond"):
            raise ValueError(f"mode must be 'stream' or 'respond', not {mode!r}")
        if count is not None and count < 0:
            raise ValueError("count must be ≥ 0 (or None: endless)")
        self.faults = _check(faults, self.supported, self.name)
        self.rng = random.Random(seed)
        self.count = count
        self.interval = interval
        self.streaming = mode == "stream"
        self.silence_seconds = silence_seconds
        self.restart_delay = restart_delay
        self.serial = serial or f"SIM-{self.name.upper()}-0001"
        self.mass = round(self.rng.uniform(*self.mass_range), 2)
        self.tare = 0.0
        self.sent = 0                       # readings generated
        self.lines: list[bytes] = []        # every reading line as generated (before faults)
        self._out = bytearray()
        self._cmd = bytearray()
        self._next_time = 0.0
        self._silent_until: float | None = None
        self._after_silence = b""
        self._pacer = Pacer(byte_time)      # live_clock: balances print no time; accepted

    # -- Simulator interface ---------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return (self.count is not None and self.sent >= self.count and not self._out
                and self._silent_until is None and not self._after_silence
                and not self._pacer.pending)

    def receive(self, data: bytes, now: float) -> None:
        if self._silent_until is not None:
            return
        for b in data:
            self._cmd.append(b)
            if b in (0x0A, 0x0D) or (len(self._cmd) == 2 and self._cmd[0] == ESC):
                text = bytes(self._cmd).strip(b"\r\n")
                self._cmd.clear()
                if text:
                    self._out += self.command(text)

    def poll(self, now: float) -> bytes:
        return self._pacer.pace(self._poll(now), now)

    def _poll(self, now: float) -> bytes:
        if self._silent_until is not None:
            if now < self._silent_until:
                return b""
            self._silent_until = None
            self._out += self._after_silence
            self._after_silence = b""
        if self.streaming and now >= self._next_time and self._can_send():
            self._out += self._stream_line(now)
            self._next_time = now + self.interval
        out = bytes(self._out)
        self._out.clear()
        return out

    # -- lines ------------------------------------------------------------------------------------
    def _can_send(self) -> bool:
        return self.count is None or self.sent < self.count

    def reading(self) -> bytes:
        """The next reading line (CR LF included), with the unstable/overload faults applied."""
        i = self.sent
        self.sent += 1
        kind = "stable"
        if "overload" in self.faults and i % 5 == 3:
            kind = "overload"
        elif "unstable" in self.faults and i % 3 == 1:
            kind = "unstable"
        value = self.mass - self.tare
        if kind == "unstable":
            value += self.rng.uniform(-0.5, 0.5)
        line = self.line(round(value, 2), kind).encode("ascii") + b"\r\n"
        self.lines.append(line)
        return line

    def _stream_line(self, now: float) -> bytes:
        i = self.sent
        line = self.reading()
        pre = b""
        if "garbage" in self.faults and i % 4 == 3:
            pre = self.rng.randbytes(self.rng.randint(2, 12))
        if "drop_byte" in self.faults and i % 4 == 2:
            j = self.rng.randrange(len(line))
            line = line[:j] + line[j + 1:]
        cut = "silence" in self.faults or "restart_mid_message" in self.faults
        if cut and i == 2:
            half = line[: len(line) // 2]
            if "silence" in self.faults:
                self._silent_until = now + self.silence_seconds
            else:
                self._silent_until = now + self.restart_delay
            return pre + half
        return pre + line

    @abc.abstractmethod
    def line(self, value: float, kind: str) -> str:
        """The line this balance prints for ``value`` in state ``kind``."""

    @abc.abstractmethod
    def command(self, text: bytes) -> bytes:
        """The reply to a host command."""


class AdSimulator(BalanceSimulator):
    name = "ad"

    def line(self, value: float, kind: str) -> str:
        unit = f"{self.unit:>3}"
        if kind == "overload":
            return f"OL,+99999.99{unit}"    # the digits of an OL line are not read
        head = "US" if kind == "unstable" else "ST"
        return f"{head},{'-' if value < 0 else '+'}{abs(value):08.2f}{unit}"

    def command(self, text: bytes) -> bytes:
        cmd = text.decode("ascii", "replace").strip()
        if cmd in ("Q", "S", "SI"):
            return self.reading() if self._can_send() else b""
        if cmd == "SIR":
            self.streaming = True
            return b""
        if cmd == "C":
            self.streaming = False
            return b""
        if cmd in ("R", "Z"):
            self.tare = self.mass
            return b""
        if cmd == "T":
            self.tare = self.mass
            return b""
        return b"EC,E1\r\n"


class AdIndicatorSimulator(AdSimulator):
    name = "ad-indicator"
    unit = "kg"
    mass_range = (1.0, 60.0)

    def line(self, value: float, kind: str) -> str:
        mode = "NT" if self.tare else "GS"
        if kind == "overload":
            return f"OL,{mode},+      .  {self.unit}"
        head = "US" if kind == "unstable" else "ST"
        return f"{head},{mode},{'-' if value < 0 else '+'}{abs(value):08.3f}{self.unit}"


class MtsicsSimulator(BalanceSimulator):
    name = "mtsics"

    def __init__(self, **kw) -> None:
        kw.setdefault("mode", "stream")
        super().__init__(**kw)

    def line(self, value: float, kind: str) -> str:
        if kind == "overload":
            return "S +"
        return f"S {'D' if kind == 'unstable' else 'S'} {value:>10.2f} {self.unit}"

    def command(self, text: bytes) -> bytes:
        cmd = text.decode("ascii", "replace").strip()
        if cmd in ("S", "SI"):
            return self.reading() if self._can_send() else b"S I\r\n"
        if cmd == "SIR":
            self.streaming = True
            return b""
        if cmd == "Z":
            self.tare = self.mass
            return b"Z A\r\n"
        if cmd == "T":
            self.tare = self.mass
            return f"T S {self.tare:>10.2f} {self.unit}\r\n".encode("ascii")
        if cmd in ("I4", "@"):
            self.streaming = self.streaming and cmd != "@"
            return f'I4 A "{self.serial}"\r\n'.encode("ascii")
        return b"ES\r\n"


class SbiSimulator(BalanceSimulator):
    name = "sbi"

    def __init__(self, *, with_id: bool = False, **kw) -> None:
        super().__init__(**kw)
        self.with_id = with_id

    def line(self, value: float, kind: str) -> str:
        ident = ("N     " if self.tare else "G#    ") if self.with_id else ""
        if kind == "overload":
            return ident + "      High    "
        unit = "   " if kind == "unstable" else f"{self.unit:<3}"
        return f"{ident}{'-' if value < 0 else '+'} {abs(value):>8.2f} {unit}"

    def command(self, text: bytes) -> bytes:
        if text[:1] == bytes([ESC]):
            if text[1:2] == b"P":
                return self.reading() if self._can_send() else b""
            if text[1:2] == b"T":
                self.tare = self.mass
        return b""


class OhausSimulator(BalanceSimulator):
    name = "ohaus"
    supported = FAULTS - {"overload"}

    def line(self, value: float, kind: str) -> str:
        return f"{value:>10.2f} {self.unit}" + (" ?" if kind == "unstable" else "")

    def command(self, text: bytes) -> bytes:
        cmd = text.decode("ascii", "replace").strip()
        if cmd in ("P", "IP"):
            return self.reading() if self._can_send() else b""
        if cmd in ("Z", "T"):
            self.tare = self.mass if cmd == "T" else self.tare
            return b""
        return b"ES\r\n"


SIMULATORS: dict[str, type[BalanceSimulator]] = {
    k.name: k for k in (AdSimulator, AdIndicatorSimulator, MtsicsSimulator, SbiSimulator,
                        OhausSimulator)
}
