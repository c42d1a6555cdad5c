"""A simulated ASTM instrument: sends result messages (H P O R [C] L) through ``AstmSender``.

Faults, by name (``FAULTS``); one-shot faults hit the first attempt of the first message:

- ``corrupt_checksum``: in every message one frame goes out once with a wrong checksum;
- ``drop_byte``: in every message one frame goes out once with a byte of its text missing;
- ``garbage``: random bytes (never ENQ) on the line before every message;
- ``nak_storm``: one frame of the first message is corrupted on every transmission, so the host
  NAKs it until the sender gives up with EOT; the message is then sent again, cleanly;
- ``silence``: the first message stops after half its frames; the line stays silent for
  ``silence_seconds`` (longer than the host's 30 s by default), then the message is re-sent;
- ``restart_mid_message``: the first message stops after half its frames and the instrument
  "reboots": after ``restart_delay`` it starts again with ENQ, without EOT.

A failed message is re-sent up to ``max_attempts`` times. Randomness comes from ``seed``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from instruments.astm.constants import ACK, ENQ, NAK, STX
from instruments.astm.records import Record, encode_record
from instruments.astm.sender import AstmSender, SenderState
from instruments.base import Discarded, Event, Send
from instruments.pacing import Pacer

FAULTS = frozenset({"corrupt_checksum", "drop_byte", "garbage", "nak_storm", "silence",
                    "restart_mid_message"})

#: simulated tests: (code, name, unit, kind)
TESTS = (
    ("INH", "organophosphate/carbamate inhibition", "%", "inhibition"),
    ("PB", "lead", "mg/kg", "quantitative"),
    ("CLB", "clenbuterol", "", "qualitative"),
)


def check_faults(faults, supported: frozenset[str], driver: str) -> frozenset[str]:
    chosen = frozenset(faults or ())
    unknown = chosen - supported
    if unknown:
        raise ValueError(f"{driver} simulator: unknown fault(s) {sorted(unknown)}; "
                         f"supported: {sorted(supported)}")
    return chosen


def _ts(t: datetime) -> str:
    return t.strftime("%Y%m%d%H%M%S")


class AstmSimulator:
    """Implements ``instruments.simulator.Simulator``."""

    name = "astm"

    def __init__(self, *, faults=(), count: int | None = 1, seed: int = 0, interval: float = 0.2,
                 results_per_message: int = 2, instrument_serial: str = "SIM-ASTM-0001",
                 start_time: datetime | None = None, silence_seconds: float = 35.0,
                 restart_delay: float = 0.5, max_attempts: int = 5,
                 sender_options: dict | None = None, byte_time: float = 0.0,
                 live_clock: bool = False) -> None:
        if count is not None and count < 0:
            raise ValueError("count must be ≥ 0 (or None: endless)")
        self.faults = check_faults(faults, FAULTS, "astm")
        self.rng = random.Random(seed)                 # faults
        self._content_rng = random.Random(seed)        # message content: same with any faults
        self.interval = interval
        self.silence_seconds = silence_seconds
        self.restart_delay = restart_delay
        self.max_attempts = max_attempts
        self.serial = instrument_serial
        # live_clock: records carry the current local time (demo); else a fixed, seeded day
        self._t0 = start_time or (datetime.now().replace(microsecond=0) if live_clock
                                  else datetime(2026, 1, 5, 9, 0, 0))
        self.live_clock = live_clock
        self._pacer = Pacer(byte_time)
        opts = {"role": "instrument", **(sender_options or {})}
        self._make_sender = lambda: AstmSender(**opts)
        self.sender = self._make_sender()
        self.count = count
        self.results_per_message = results_per_message
        self.messages: list[list[str]] = []   # generated on demand, in order
        self.delivered: list[list[str]] = []
        self.failed: list[list[str]] = []
        self._next = 0                 # index of the next message to queue
        self._current: int | None = None
        self._attempt = 0
        self._not_before = 0.0
        self._silent_until: float | None = None
        self._plan: dict[str, int] = {}

    # -- message content -------------------------------------------------------------------------
    def _message(self, i: int, n_results: int) -> list[str]:
        t = datetime.now().replace(microsecond=0) if self.live_clock else \
            self._t0 + timedelta(minutes=3 * i)
        rng = self._content_rng
        sample = f"SIM{i + 1:05d}"
        recs = [
            Record.build("H", {5: ("KJ-SIM", "1.0", self.serial), 12: "P", 13: "LIS2-A2",
                               14: _ts(t)}),
            Record.build("P", {2: "1", 3: f"MKT{rng.randint(1, 9):02d}"}),
            Record.build("O", {2: "1", 3: sample, 5: ("", "", "", TESTS[0][0]), 12: "N"}),
        ]
        for k in range(n_results):
            code, name, unit, kind = TESTS[(i + k) % len(TESTS)]
            if kind == "inhibition":
                value = f"{rng.uniform(5, 80):.1f}"
                flag = "H" if float(value) >= 50 else "N"
            elif kind == "quantitative":
                value = f"{rng.uniform(0.01, 0.4):.3f}"
                flag = "H" if float(value) > 0.2 else "N"
            else:
                value = rng.choice(["NEG", "NEG", "POS"])
                flag = "A" if value == "POS" else "N"
            recs.append(Record.build("R", {2: str(k + 1), 3: ("", "", "", code, name), 4: value,
                                           5: unit, 7: flag, 9: "F", 11: "tester01",
                                           13: _ts(t + timedelta(seconds=30 * k)),
                                           14: self.serial}))
            if k == 0 and i % 3 == 2:   # a long comment: more than one frame (ETB)
                recs.append(Record.build("C", {2: "1", 3: "I",
                                               4: "long note | with ^ delimiters & " * 12,
                                               5: "G"}))
        recs.append(Record.build("L", {2: "1", 3: "N"}))
        return [encode_record(r) for r in recs]

    # -- Simulator interface ---------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return (self._current is None and not self._more() and not self._pacer.pending
                and not self.sender.busy and self._silent_until is None)

    def receive(self, data: bytes, now: float) -> None:
        if self._silent_until is not None:
            return                      # switched off / rebooting: hears nothing
        self.sender.receive(data, now)

    def poll(self, now: float) -> bytes:
        return self._pacer.pace(self._poll(now), now)

    def _poll(self, now: float) -> bytes:
        if self._silent_until is not None:
            if now < self._silent_until:
                return b""
            self._silent_until = None
            self._restart_current(now)
        out = bytearray()
        self._collect_result(now)
        if self._current is None and self._more() and now >= self._not_before:
            if "garbage" in self.faults:
                out += bytes(b for b in self.rng.randbytes(self.rng.randint(3, 24))
                             if b != ENQ[0])
            self._start(self._next, now)
            self._next += 1
        if self._current is not None and self._cut_now():
            cut = "silence" if self._plan.get("silence") is not None else "restart_mid_message"
            self._plan.clear()
            self._silent_until = now + (self.silence_seconds if cut == "silence"
                                        else self.restart_delay)
            return bytes(out)
        chunk = self.sender.poll(now)
        if chunk.startswith(STX):
            chunk = self._mangle(chunk)
        out += chunk
        self._collect_result(now)
        return bytes(out)

    # -- internals -------------------------------------------------------------------------------
    def _more(self) -> bool:
        return self.count is None or self._next < self.count

    def _start(self, index: int, now: float) -> None:
        self._current = index
        self._attempt += 1
        while len(self.messages) <= index:
            self.messages.append(self._message(len(self.messages), self.results_per_message))
        records = self.messages[index]
        self.sender.send(records)
        nframes = len(self.sender._queue[-1].frames)
        self._plan = {}
        first = index == 0 and self._attempt == 1
        if "corrupt_checksum" in self.faults:
            self._plan["corrupt_checksum"] = self.rng.randrange(nframes)
        if "drop_byte" in self.faults:
            self._plan["drop_byte"] = self.rng.randrange(nframes)
        if first and "nak_storm" in self.faults:
            self._plan["nak_storm"] = self.rng.randrange(nframes)
        if first and "silence" in self.faults:
            self._plan["silence"] = max(1, nframes // 2)
        elif first and "restart_mid_message" in self.faults:
            self._plan["restart"] = max(1, nframes // 2)

    def _cut_now(self) -> bool:
        k = self._plan.get("silence", self._plan.get("restart"))
        return (k is not None and self.sender.state is SenderState.SEND_FRAME
                and self.sender.frame_index >= k)

    def _restart_current(self, now: float) -> None:
        """The instrument comes back: its sender forgot everything; the message starts over."""
        self.sender = self._make_sender()
        if self._current is not None:
            index = self._current
            self._current = None
            self._start(index, now)

    def _mangle(self, frame: bytes) -> bytes:
        i, fails = self.sender.frame_index, self.sender.frame_failures
        if self._plan.get("nak_storm") == i:
            return frame[:-4] + (b"00" if frame[-4:-2] != b"00" else b"FF") + frame[-2:]
        if fails == 0 and self._plan.get("corrupt_checksum") == i:
            c = frame[-4:-2]
            return frame[:-4] + (b"%02X" % ((int(c, 16) + 1) % 256)) + frame[-2:]
        if fails == 0 and self._plan.get("drop_byte") == i and len(frame) > 8:
            j = self.rng.randrange(2, len(frame) - 5)     # a byte of the text (or the FN)
            return frame[:j] + frame[j + 1:]
        return frame

    def _collect_result(self, now: float) -> None:
        if self._current is None or self.sender.busy:
            return
        result = self.sender.results[-1]
        records = self.messages[self._current]
        if result.ok:
            self.delivered.append(records)
        elif self._attempt < self.max_attempts:
            self._plan.clear()
            self._next = self._current
        else:
            self.failed.append(records)
        if result.ok or self._attempt >= self.max_attempts:
            self._attempt = 0
        self._current = None
        self._not_before = now + self.interval


class NakStormHost:
    """A host-side fault for receiver tests: wraps a receiver (``instruments.base.Decoder``) and
    answers the first ``storm`` frames with NAK instead of ACK (ENQ replies are left alone)."""

    def __init__(self, receiver, storm: int = 6) -> None:
        self.receiver = receiver
        self.name = getattr(receiver, "name", "astm")
        self.storm = storm
        self.naks_sent = 0

    def _rewrite(self, events: list[Event]) -> list[Event]:
        session_start = any(isinstance(e, Discarded) and e.raw == ENQ for e in events)
        out = []
        for e in events:
            if (isinstance(e, Send) and e.data == ACK and not session_start
                    and self.naks_sent < self.storm):
                self.naks_sent += 1
                e = Send(NAK)
            out.append(e)
        return out

    def feed(self, data: bytes, now: float) -> list[Event]:
        return self._rewrite(self.receiver.feed(data, now))

    def poll(self, now: float) -> list[Event]:
        return self.receiver.poll(now)
