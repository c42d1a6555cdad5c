"""Sartorius SBI output: 16 characters (``+   123.56 g  `` CR LF) or 22 with a 6-character ID
code in front (``N     +   123.56 g  ``).

Positions (16-character form): 1 sign or space, 2 space, 3–10 weight (leading zeros as spaces),
11 space, 12–14 unit. Special codes in the weight field: ``H``/``HH``/``High`` overload,
``L``/``LL``/``Low`` underload, ``C`` calibration, ``Err ###`` errors; ``Stat`` in the ID code
marks a status line. Sartorius sends the unit only with a stable value, so a weight without a
unit is read as unstable. ID codes: ``N`` net, ``G#``/``G`` gross, ``T``/``T2`` tare,
``Qnt`` count.
"""

from __future__ import annotations

import re

import serial

from instruments.balances.lines import LineDecoder, LineError, number
from instruments.base import PortSettings, Stability, WeightReading

DEFAULTS = PortSettings(baudrate=1200, bytesize=serial.SEVENBITS, parity=serial.PARITY_ODD,
                        rtscts=True)

ID_MODES = {"N": "net", "G#": "gross", "G": "gross", "T": "tare", "T2": "tare", "Qnt": "count"}
_OVER = {"H", "HH", "High"}
_UNDER = {"L", "LL", "Low"}
_ERR = re.compile(r"(?i)err\s*#?\s*(\d+)")


def parse_sbi(text: str) -> WeightReading:
    if len(text) == 20:
        ident, body = text[:6].strip(), text[6:]
    elif len(text) == 14:
        ident, body = "", text
    else:
        raise LineError(f"{len(text) + 2} characters with CR LF; SBI lines have 16 or 22")
    rest = body.strip()
    if m := _ERR.search(body):
        raise LineError(f"balance error {m.group(1)}")
    if ident == "Stat" or rest in _OVER | _UNDER | {"C", "--", ""} or rest.startswith(
            ("High", "Low", "Cal")):
        word = rest.split()[0] if rest else ""
        if word in _OVER:
            return WeightReading(None, "", Stability.OVERLOAD, header=ident or word)
        if word in _UNDER:
            return WeightReading(None, "", Stability.UNDERLOAD, header=ident or word)
        raise LineError(f"status line without a weight ({rest or 'blank'!r})")
    sign, gap, weight, gap2, unit = body[0], body[1], body[2:10], body[10], body[11:14].strip()
    if sign not in "+- " or gap != " " or gap2 != " ":
        raise LineError("not sign, space, 8-character weight, space, unit")
    value = number(("-" if sign == "-" else "") + weight)
    stability = Stability.STABLE if unit else Stability.UNSTABLE
    mode = ID_MODES.get(ident, "gross")
    if unit.lower() in ("pcs", "pc"):
        mode = "count"
    return WeightReading(value, unit, stability, mode=mode, header=ident)


class SbiDecoder(LineDecoder):
    name = "sbi"
    label = "Sartorius SBI"

    def parse(self, text: str) -> WeightReading:
        return parse_sbi(text)
