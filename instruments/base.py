"""What every driver shares: port settings, typed readings, and the sans-I/O decoder interface.

A decoder is a state machine: ``feed(data, now)`` takes the bytes that arrived (any chunking) and
returns events; ``poll(now)`` lets it act on timeouts. It never reads a port, sleeps or looks at
the clock itself, so every decoder is tested with plain bytes and fake times. The listener (in
lims/) owns the port, writes ``Send`` events back to it, journals the bytes and stores readings.

Every byte fed in is accounted for: it ends up in a ``Decoded`` reading's ``raw``, in a
``DecodeError``'s ``raw``, or in ``Discarded`` (noise between messages, duplicates, handshake bytes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import serial


@dataclass(frozen=True)
class PortSettings:
    """Serial line settings; drivers declare their documented defaults, instruments override."""

    baudrate: int = 9600
    bytesize: int = serial.EIGHTBITS
    parity: str = serial.PARITY_NONE
    stopbits: float = serial.STOPBITS_ONE
    xonxoff: bool = False
    rtscts: bool = False

    def with_overrides(self, overrides: dict[str, Any] | None) -> PortSettings:
        if not overrides:
            return self
        allowed = set(self.__dataclass_fields__)
        unknown = set(overrides) - allowed
        if unknown:
            raise ValueError(f"unknown port setting(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        merged = {**self.__dict__, **overrides}
        if merged["baudrate"] not in serial.Serial.BAUDRATES:
            raise ValueError(f"baudrate {merged['baudrate']} is not a standard rate")
        if merged["bytesize"] not in (5, 6, 7, 8):
            raise ValueError(f"bytesize {merged['bytesize']} must be 5–8")
        if merged["parity"] not in serial.Serial.PARITIES:
            raise ValueError(f"parity {merged['parity']!r} must be one of {serial.Serial.PARITIES}")
        if merged["stopbits"] not in serial.Serial.STOPBITS:
            raise ValueError(f"stopbits {merged['stopbits']} must be 1, 1.5 or 2")
        return PortSettings(**merged)

    def serial_kwargs(self) -> dict[str, Any]:
        return dict(self.__dict__)


def message_id(raw: bytes, instrument: str = "") -> str:
    """Stable id of one received message: the same bytes from the same instrument → same id.

    The listener uses it as the ingest key, so a retransmitted or replayed message is stored once.
    """
    return hashlib.sha256(instrument.encode("utf-8") + b"\x00" + raw).hexdigest()


def reading_key(reading: WeightReading | AnalyzerReading, instrument: str = "") -> str:
    """Idempotency key of one reading. Drivers that decode several readings from one message
    (ASTM: one per R record) set ``extra["message_key"]`` (whole message + index), so equal raw
    frames in different messages never collide; otherwise it is ``message_id(raw)``."""
    key = getattr(reading, "extra", {}).get("message_key")
    if key:
        return message_id(str(key).encode("utf-8"), instrument)
    return message_id(reading.raw, instrument)


class Stability(StrEnum):
    STABLE = "stable"
    UNSTABLE = "unstable"
    OVERLOAD = "overload"
    UNDERLOAD = "underload"


@dataclass(frozen=True)
class WeightReading:
    """One line from a balance or scale."""

    value: float | None          # None when overloaded/blank
    unit: str
    stability: Stability
    mode: str = "gross"          # gross / net / tare / count
    raw: bytes = b""
    header: str = ""             # e.g. "ST", "S S"


@dataclass(frozen=True)
class AnalyzerReading:
    """One test result from an analyzer, a strip reader or an ASTM LIS message.

    ``values`` uses the product's raw keys: ``control_delta``/``sample_delta`` (enzyme inhibition),
    ``inhibition`` (the instrument's own %), ``t``/``c``/``ratio`` (colloidal gold), ``value`` with
    ``unit`` (quantitative). ``verdict`` is the instrument's own word (阴性/阳性/合格 …) or None.
    """

    raw: bytes
    sample_id: str | None = None
    test_id: str | None = None            # test item / analyte / method code as the instrument names it
    channel: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    verdict: str | None = None
    tested_at: datetime | None = None     # naive = instrument local time
    operator: str | None = None
    instrument_serial: str | None = None
    flags: str | None = None              # ASTM abnormal flags
    status: str | None = None             # ASTM result status (F final, C correction …)
    extra: dict[str, Any] = field(default_factory=dict)


Reading = WeightReading | AnalyzerReading


@dataclass(frozen=True)
class Decoded:
    reading: Reading


@dataclass(frozen=True)
class DecodeError:
    raw: bytes
    message: str            # names what was wrong and where (frame number, field, byte offset)


@dataclass(frozen=True)
class Discarded:
    raw: bytes
    why: str                # "noise between messages", "duplicate frame 3", "ENQ" …


@dataclass(frozen=True)
class Send:
    data: bytes             # to write back to the instrument (ACK, NAK, EOT, a command)


Event = Decoded | DecodeError | Discarded | Send


class Decoder(Protocol):
    """A sans-I/O decoder. ``now`` is a monotonic time in seconds, passed in by the caller."""

    name: str

    def feed(self, data: bytes, now: float) -> list[Event]: ...

    def poll(self, now: float) -> list[Event]: ...
