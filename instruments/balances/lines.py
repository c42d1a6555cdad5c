"""Line framing shared by the balance decoders (sans-I/O, clock passed in).

A line ends with LF (CR LF), or with a CR followed by anything but LF (CR-only devices). A line
with no end after ``line_timeout`` seconds of silence, or longer than ``max_line`` bytes, is a
``DecodeError`` carrying its bytes. Every byte fed ends in exactly one event's ``raw``.
"""

from __future__ import annotations

import abc

from instruments.base import Decoded, DecodeError, Discarded, Event, WeightReading

CR, LF = 0x0D, 0x0A
#: bytes a balance may put around a line (ACK after a command, XON/XOFF, NUL padding)
_CONTROL = b"\x00\x06\x11\x13\x15"


class LineError(ValueError):
    """A line that does not follow the format; the message says why."""


class Info(str):
    """A reply that carries no weight (zero done, serial number …): becomes ``Discarded``."""


class LineDecoder(abc.ABC):
    """Base class: subclasses set ``name`` and implement ``parse(text) -> WeightReading | Info``
    (raising ``LineError``)."""

    name = "line"
    label = "line"

    def __init__(self, *, line_timeout: float = 2.0, max_line: int = 256) -> None:
        self.line_timeout = line_timeout
        self.max_line = max_line
        self._buf = bytearray()
        self._last: float | None = None

    def feed(self, data: bytes, now: float) -> list[Event]:
        events: list[Event] = []
        if data:
            self._last = now
        buf = self._buf
        for b in data:
            if buf and buf[-1] == CR and b != LF:
                events += self._line(bytes(buf))
                buf.clear()
            buf.append(b)
            if b == LF:
                events += self._line(bytes(buf))
                buf.clear()
            elif len(buf) >= self.max_line:
                events.append(DecodeError(bytes(buf), f"{self.label}: no line end within "
                                                      f"{self.max_line} bytes"))
                buf.clear()
        return events

    def poll(self, now: float) -> list[Event]:
        if not self._buf or self._last is None or now - self._last < self.line_timeout:
            return []
        raw = bytes(self._buf)
        self._buf.clear()
        if raw.endswith(b"\r"):
            return self._line(raw)
        return [DecodeError(raw, f"{self.label}: incomplete line {raw!r} (no CR LF after "
                                 f"{self.line_timeout:g} s)")]

    def _line(self, raw: bytes) -> list[Event]:
        """One line → one event; a line spoilt by binary noise in front of a valid line gives
        ``Discarded`` (the noise) + the line's reading."""
        event = self._one(raw)
        if not isinstance(event, DecodeError):
            return [event]
        cut = max((i for i, b in enumerate(raw) if not 0x20 <= b <= 0x7E and b not in b"\r\n"),
                  default=-1) + 1
        end = len(raw.rstrip(b"\r\n"))
        if cut == 0:
            return [event]
        for start in range(cut, min(end, cut + 16)):   # printable tail of the noise, if any
            rest = self._one(raw[start:])
            if isinstance(rest, Decoded):
                return [Discarded(raw[:start], f"{self.label}: noise before a line"), rest]
        return [event]

    def _one(self, raw: bytes) -> Event:
        body = raw.rstrip(b"\r\n").strip(_CONTROL)
        if not body.strip():
            return Discarded(raw, "empty line" if not raw.strip(b"\r\n") else "control bytes")
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError as e:
            return DecodeError(raw, f"{self.label}: non-ASCII byte {body[e.start]:#04x} at "
                                    f"offset {e.start} in line {raw!r}")
        try:
            result = self.parse(text)
        except LineError as e:
            return DecodeError(raw, f"{self.label}: line {text!r}: {e}")
        if isinstance(result, Info):
            return Discarded(raw, f"{self.label}: {result}")
        return Decoded(WeightReading(value=result.value, unit=result.unit,
                                     stability=result.stability, mode=result.mode, raw=raw,
                                     header=result.header))

    @abc.abstractmethod
    def parse(self, text: str) -> WeightReading | Info:
        """One line of the format (without its terminator) → a reading or an Info reply."""


def number(text: str, what: str = "weight") -> float:
    t = text.replace(" ", "").replace("[", "").replace("]", "")
    if not t or not any(c.isdigit() for c in t):
        raise LineError(f"{what} {text!r} has no digits")
    try:
        return float(t)
    except ValueError:
        raise LineError(f"{what} {text!r} is not a number") from None
