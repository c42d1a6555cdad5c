"""Mettler Toledo MT-SICS replies (level 0/1): S, SI, SIR, Z, T, I4, @ and the error replies.

Weight replies are ``<cmd> <status> <weight, right-aligned in 10> <unit>``: ``S S     100.00 g``.
Status S stable, D dynamic (not stable), I not executable (busy / not stable in time), + overload,
- underload. The weight MT-SICS sends is the net weight (gross when no tare is set).
"""

from __future__ import annotations

import serial

from instruments.balances.lines import Info, LineDecoder, LineError, number
from instruments.base import PortSettings, Stability, WeightReading

DEFAULTS = PortSettings(baudrate=9600, bytesize=serial.EIGHTBITS, parity=serial.PARITY_NONE,
                        xonxoff=True)

GENERAL_ERRORS = {"ES": "syntax error (command not recognised)",
                  "ET": "transmission error (parity or line too long)",
                  "EL": "logical error (command cannot be executed)"}
REFUSALS = {"I": "command not executable (balance busy, or weight not stable in time)",
            "+": "upper limit of the range exceeded", "-": "lower limit of the range exceeded",
            "L": "logical error (parameter not allowed)"}


def _weight(text: str, head: str, strict: bool) -> tuple[float, str]:
    if strict:
        if len(text) < 16 or text[3] != " " or text[14] != " ":
            raise LineError("weight is not a 10-character field after the status "
                            "(<cmd> <status> <10-char weight> <unit>)")
        field, unit = text[4:14], text[15:].strip()
    else:
        parts = text.split()
        if len(parts) < 4:
            raise LineError("weight or unit missing")
        field, unit = parts[2], " ".join(parts[3:])
    if not unit:
        raise LineError("unit missing")
    return number(field), unit


def parse_mtsics(text: str, strict: bool = True) -> WeightReading | Info:
    code = text.strip()
    if code in GENERAL_ERRORS:
        raise LineError(f"{code}: {GENERAL_ERRORS[code]}")
    parts = text.split(maxsplit=2)
    if len(parts) < 2:
        raise LineError("reply has no status")
    cmd, status = parts[0], parts[1]
    head = f"{cmd} {status}"
    if cmd == "S":
        if status in ("S", "D"):
            value, unit = _weight(text, head, strict)
            stab = Stability.STABLE if status == "S" else Stability.UNSTABLE
            return WeightReading(value, unit, stab, mode="net", header=head)
        if status == "+":
            return WeightReading(None, "", Stability.OVERLOAD, mode="net", header=head)
        if status == "-":
            return WeightReading(None, "", Stability.UNDERLOAD, mode="net", header=head)
    elif cmd == "T":
        if status == "S":
            value, unit = _weight(text, head, strict)
            return WeightReading(value, unit, Stability.STABLE, mode="tare", header=head)
    elif cmd == "Z":
        if status in ("A", "D"):
            return Info("zero set (Z A)" if status == "A" else "zero set, not stable (Z D)")
    elif cmd.startswith("I") and cmd[1:].isdigit() and status == "A":
        arg = parts[2].strip().strip('"') if len(parts) > 2 else ""
        what = "serial number" if cmd == "I4" else f"{cmd} reply"
        return Info(f"{what} {arg!r}")
    else:
        raise LineError(f"unknown reply {cmd!r}")
    if status in REFUSALS:
        raise LineError(f"{cmd} {status}: {REFUSALS[status]}")
    raise LineError(f"status {status!r} unknown for {cmd}")


class MtsicsDecoder(LineDecoder):
    name = "mtsics"
    label = "MT-SICS"

    def __init__(self, *, strict: bool = True, **kw) -> None:
        super().__init__(**kw)
        self.strict = strict

    def parse(self, text: str) -> WeightReading | Info:
        return parse_mtsics(text, self.strict)
