"""A simulated analyzer that writes the bytes its profile describes, with faults on demand.

Sans-I/O (see ``instruments.simulator``): ``poll(now)`` returns the bytes due on the line. Records
are generated from a seeded random source with the instrument's own verdict (its firmware rule,
from the ``[simulator]`` section), rendered with the profile's template and encoding, and framed.

Faults, each applied to one message (the i-th fault to message i+1, so the first message is clean):
``garbage`` noise before the message, ``drop_byte`` one byte of the record lost, ``silence`` a
long pause before it, ``restart_mid_message`` half the message, a pause longer than the profile's
idle timeout, then the whole message again, ``corrupt`` a number field replaced by junk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from instruments.profiles.decoder import ETX, STX
from instruments.profiles.schema import Profile

FAULTS = ("garbage", "drop_byte", "silence", "restart_mid_message", "corrupt")


@dataclass
class SentMessage:
    record: dict[str, Any]     # the values as the instrument printed them
    data: bytes                # the clean message bytes
    fault: str | None = None
    wire: bytes = b""          # what actually went on the line for it (fault applied)


@dataclass
class ProfileSimulator:
    profile: Profile
    count: int | None = 10                 # None: forever
    interval: float = 0.2                  # s between messages
    faults: tuple[str, ...] = ()
    seed: int = 1
    byte_time: float = 0.0                 # s per byte (0: a message at once)
    start: datetime = field(default_factory=lambda: datetime(2026, 5, 6, 9, 0, 0))
    serial: str | None = None              # printed serial number (default from the profile)
    live_clock: bool = False               # print the current time (demo) instead of ``start``
    tested_units: tuple[str, ...] = ()     # markets to print (default: the profile's list)
    name: str = "profile"

    def __post_init__(self) -> None:
        bad = [f for f in self.faults if f not in FAULTS]
        if bad:
            raise ValueError(f"unknown fault(s) {bad}; the profile simulator knows {list(FAULTS)}")
        if not self.profile.simulator:
            raise ValueError(f"profile {self.profile.name!r} has no [simulator] section")
        self.name = f"profile:{self.profile.name}"
        self._rng = random.Random(self.seed)
        self._queue: list[tuple[float, bytes]] = []
        self._t0: float | None = None
        self._next_at = 0.0
        self.sent: list[SentMessage] = []
        self.received = bytearray()

    # -- Simulator interface ----------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.count is not None and len(self.sent) >= self.count and not self._queue

    def receive(self, data: bytes, now: float) -> None:
        self.received += data

    def poll(self, now: float) -> bytes:
        if self._t0 is None:
            self._t0 = now
            self._next_at = now
        while not self._queue and (self.count is None or len(self.sent) < self.count):
            if now < self._next_at:
                break
            self._schedule(self._next_at)
        out = bytearray()
        while self._queue and self._queue[0][0] <= now:
            out += self._queue.pop(0)[1]
        return bytes(out)

    # -- messages ---------------------------------------------------------------------------
    def _schedule(self, at: float) -> None:
        i = len(self.sent)
        fault = self.faults[i - 1] if 1 <= i <= len(self.faults) else None
        record = self.record(i)
        data = self.frame(self.render(record))
        msg = SentMessage(record, data, fault)
        t = at
        p = self.profile
        if fault == "silence":
            t += max(3 * self.interval, p.idle_timeout + 0.5)
        if fault == "garbage":
            noise = bytes(self._rng.choice(b"\x80\x9a\xa5\xfe\xffxyz?!#@ ") for _ in range(12))
            t = self._emit(t, noise)
            msg.wire += noise
        if fault == "restart_mid_message":
            half = data[: len(data) // 2]
            t = self._emit(t, half) + p.idle_timeout + 0.5
            msg.wire += half
        wire = data
        if fault == "drop_byte":
            body_start = 1 if p.framing == "stx_etx" else 0
            body_len = len(self.render(record).encode(p.encoding))
            k = self._rng.randrange(body_start, body_start + body_len)
            wire = data[:k] + data[k + 1:]
        elif fault == "corrupt":
            wire = self.frame(self.render(record, corrupt=True))
        t = self._emit(t, wire)
        msg.wire += wire
        self.sent.append(msg)
        self._next_at = max(t, at) + self.interval

    def _emit(self, t: float, data: bytes) -> float:
        if self.byte_time <= 0:
            self._queue.append((t, data))
            return t
        for b in data:
            self._queue.append((t, bytes([b])))
            t += self.byte_time
        return t

    def frame(self, text: str) -> bytes:
        body = text.encode(self.profile.encoding)
        if self.profile.framing == "stx_etx":
            return STX + body + ETX + b"\r\n"
        return body + self.profile.terminator

    def render(self, record: dict[str, Any], *, corrupt: bool = False) -> str:
        values = dict(record)
        if corrupt:
            for k in ("control_delta", "t"):
                if k in values:
                    values[k] = "0.x1"
        tf = self.profile.fields["time"].format if "time" in self.profile.fields else None
        if tf and isinstance(values.get("time"), datetime):
            values["time"] = values["time"].strftime(tf)
        template = self.profile.simulator["template"]
        if corrupt:  # the junk is a string: drop numeric format specs for it
            template = template.replace("{control_delta:.3f}", "{control_delta}").replace(
                "{t:.3f}", "{t}")
        return template.format(**values)

    def record(self, i: int) -> dict[str, Any]:
        """The i-th record, with the values rounded as the instrument prints them."""
        sim, rng = self.profile.simulator, self._rng
        when = (datetime.now().replace(microsecond=0) if self.live_clock
                else self.start + timedelta(seconds=30 * i))
        common = {
            "channel": i % int(sim.get("channels", 1)) + 1,
            "sample_id": f"S{when:%Y%m%d}{i + 1:04d}",
            "sample_name": rng.choice(sim["samples"]),
            "test_item": rng.choice(sim["test_items"]),
            "operator": rng.choice(sim["operators"]),
            "tested_unit": rng.choice(list(self.tested_units) or sim["markets"]),
            "serial": self.serial or sim["serial"],
            "time": when,
        }
        words = {v: k for k, v in reversed(self.profile.verdicts.items())}
        if sim["kind"] == "enzyme_inhibition":
            a0 = round(rng.uniform(0.32, 0.80), 3)
            band = rng.random()
            target = rng.uniform(0, 35) if band < 0.75 else (
                rng.uniform(40, 50) if band < 0.85 else rng.uniform(50, 90))
            at = round(a0 * (1 - target / 100), 3)
            inh = round((a0 - at) / a0 * 100, 1)
            outcome = ("positive" if inh >= sim.get("positive_at", 50) else
                       "suspicious" if inh >= sim.get("suspicious_from", 40) else "negative")
            return {**common, "control_delta": a0, "sample_delta": at, "inhibition": inh,
                    "verdict": words[outcome]}
        c = round(rng.uniform(0.8, 1.6), 3)
        cutoff = float(sim.get("cutoff", 1.0))
        ratio_target = rng.uniform(0.3, 0.95) if rng.random() < 0.2 else rng.uniform(1.05, 2.0)
        t = round(c * ratio_target, 3)
        ratio = round(t / c, 3)
        outcome = "positive" if ratio < cutoff else "negative"
        return {**common, "t": t, "c": c, "ratio": ratio, "cutoff": cutoff,
                "verdict": words[outcome]}
