"""Ohaus print output: weight right-justified in 10 characters, space, unit, then ``?`` when
unstable and an optional legend (G / NET / T / TOTAL), CR LF: ``    192.21 g``,
``      0.01 g ?``. ``ES`` is the reply to an invalid command.

``weight_width`` (default 10, as on the Navigator/Scout "format 1") guards against a dropped
digit being read as another weight; set it to None for models with 11–12 character fields.
"""

from __future__ import annotations

import re

from instruments.balances.lines import LineDecoder, LineError, number
from instruments.base import PortSettings, Stability, WeightReading

DEFAULTS = PortSettings(baudrate=9600)

LEGENDS = {"G": "gross", "GROSS": "gross", "N": "net", "NET": "net", "T": "tare",
           "TARE": "tare", "TOTAL": "total"}   # upper case: "g" is a unit, "G" the legend
_TIME = re.compile(r"\d{1,2}:\d{2}:\d{2}")


def parse_ohaus(text: str, weight_width: int | None = 10) -> WeightReading:
    if text.strip() == "ES":
        raise LineError("ES: invalid command")
    if text.strip().lower().startswith("err"):
        raise LineError(f"balance error {text.strip()!r}")
    m = re.match(r"\s*-?\s*[0-9.]+", text)
    if not m:
        raise LineError("no weight at the start of the line")
    field = m.group(0)
    if weight_width is not None and len(field) != weight_width:
        raise LineError(f"weight field is {len(field)} characters, expected {weight_width} "
                        "(right-justified)")
    value = number(field.replace(" ", ""))
    tokens = text[m.end():].split()
    if not tokens:
        raise LineError("unit missing")
    unit, stability, mode = tokens[0], Stability.STABLE, "gross"
    for tok in tokens[1:]:
        if tok == "?":
            stability = Stability.UNSTABLE
        elif tok in LEGENDS:
            mode = LEGENDS[tok]
        elif not _TIME.fullmatch(tok):
            raise LineError(f"unexpected {tok!r} after the unit")
    if unit == "?" or unit in LEGENDS:
        raise LineError("unit missing")
    if unit.upper() in ("PCS", "PC"):
        mode = "count"
    return WeightReading(value, unit, stability, mode=mode, header="?" if
                         stability is Stability.UNSTABLE else "")


class OhausDecoder(LineDecoder):
    name = "ohaus"
    label = "Ohaus"

    def __init__(self, *, weight_width: int | None = 10, **kw) -> None:
        super().__init__(**kw)
        self.weight_width = weight_width

    def parse(self, text: str) -> WeightReading:
        return parse_ohaus(text, self.weight_width)
