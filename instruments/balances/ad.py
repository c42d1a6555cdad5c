"""A&D standard format and the two-header weighing-indicator format.

Standard (balances and the scales that copy it): ``HH,±DDDDDDDD UUU`` CR LF, exactly 15
characters: header ST stable / US unstable / OL overload / QT count, comma, sign, 8 characters
(zero-padded, decimal point included), 3-character unit. Error replies ``EC,Ex``.
Indicator: ``ST,GS,+0012.345kg`` — a stability header, GS gross / NT net / TR tare, a signed
value and a 1–3 letter unit (the widths vary between models, so this form is parsed by pattern).
"""

from __future__ import annotations

import re

import serial

from instruments.balances.lines import LineDecoder, LineError, number
from instruments.base import PortSettings, Stability, WeightReading

STANDARD_DEFAULTS = PortSettings(baudrate=2400, bytesize=serial.SEVENBITS,
                                 parity=serial.PARITY_EVEN)
INDICATOR_DEFAULTS = PortSettings(baudrate=9600)

HEADERS = {"ST": Stability.STABLE, "US": Stability.UNSTABLE, "OL": Stability.OVERLOAD,
           "QT": Stability.STABLE}
MODES = {"GS": "gross", "NT": "net", "TR": "tare"}
ERRORS = {"E0": "communication error", "E1": "undefined command", "E2": "not ready",
          "E3": "timeout", "E4": "too many characters", "E6": "format error",
          "E7": "parameter out of range", "E9": "internal error"}

_INDICATOR = re.compile(r"(ST|US|OL|QT),(GS|NT|TR),([+-]?)([0-9. ]*?)\s*([A-Za-z%]{1,3})\s*")


def parse_ad(text: str, indicator_width: int | None = None) -> WeightReading:
    """Parse one line; ``indicator_width``: the value-field width this indicator has sent so
    far (a line with another width is refused: most likely a dropped byte)."""
    head = text[:2]
    if head == "EC":
        code = text[3:].strip()
        raise LineError(f"balance error reply {code}: {ERRORS.get(code, 'unknown error code')}")
    if head not in HEADERS:
        raise LineError(f"header {head!r} is none of {sorted(HEADERS)} or EC")
    if text[2:3] != ",":
        raise LineError("no comma after the header")
    if text[3:5] in MODES and text[5:6] == ",":
        return _indicator(text, indicator_width)
    if len(text) != 15:
        raise LineError(f"{len(text)} characters; the A&D standard format has 15 "
                        "(HH,±DDDDDDDD UUU)")
    sign, digits, unit = text[3], text[4:12], text[12:15].strip()
    if sign not in "+-":
        raise LineError(f"sign {sign!r} is not + or -")
    if head == "OL":
        return WeightReading(None, unit, Stability.OVERLOAD, header=head)
    if not re.fullmatch(r"[0-9. ]{8}", digits):
        raise LineError(f"value field {digits!r} is not 8 digits/decimal point")
    value = number(sign + digits.strip())
    mode = "count" if head == "QT" else "gross"
    return WeightReading(value, unit, HEADERS[head], mode=mode, header=head)


def indicator_width(text: str) -> int | None:
    m = _INDICATOR.fullmatch(text)
    return len(m.group(4)) if m and m.group(1) != "OL" else None   # OL lines carry no digits


def _indicator(text: str, width: int | None = None) -> WeightReading:
    m = _INDICATOR.fullmatch(text)
    if not m:
        raise LineError("not the indicator form HH,GS|NT|TR,±value unit")
    head, mode_code, sign, digits, unit = m.groups()
    if width is not None and len(digits) != width:
        raise LineError(f"value field of {len(digits)} characters where this indicator sends "
                        f"{width} (a dropped or extra byte?)")
    header = f"{head},{mode_code}"
    if head == "OL":
        return WeightReading(None, unit, Stability.OVERLOAD, mode=MODES[mode_code], header=header)
    value = number(sign + digits.replace(" ", ""))
    return WeightReading(value, unit, HEADERS[head], mode=MODES[mode_code], header=header)


class AdDecoder(LineDecoder):
    """A&D standard lines (and indicator lines, recognised by their second header)."""

    name = "ad"
    label = "A&D"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._width: int | None = None        # indicator value width, learnt from its lines
        self._odd: int | None = None          # a differing width seen once

    def parse(self, text: str) -> WeightReading:
        width = indicator_width(text)
        if width is None or self._width is None or width == self._width:
            reading = parse_ad(text, None)
            if width is not None:
                self._width, self._odd = width, None
            return reading
        if self._odd == width:                # twice in a row: the instrument changed format
            self._width, self._odd = width, None
            return parse_ad(text, None)
        self._odd = width
        return parse_ad(text, self._width)


class AdIndicatorDecoder(AdDecoder):
    name = "ad-indicator"
    label = "A&D indicator"
