"""Reading the time fields of a profile's records fast: ``time_parser(fmt)`` gives strptime's
results and errors at a fraction of its cost (fixed-width numeric formats and ISO-like ones are
read directly; anything else, and any value those readers refuse, goes to strptime)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

_TIME_DIGITS = {"Y": "[0-9]{4}", "m": "(?:0[1-9]|1[0-2])", "d": "(?:0[1-9]|[12][0-9]|3[01])",
                "H": "(?:[01][0-9]|2[0-3])", "M": "[0-5][0-9]", "S": "[0-5][0-9]"}
_TIME_DEFAULT = {"Y": 1900, "m": 1, "d": 1, "H": 0, "M": 0, "S": 0}
#: formats laid out like ISO 8601 but for the date separator: %Y-%m-%d, %Y/%m/%d %H:%M, …
_ISO_LIKE = re.compile(r"%Y([-/.])%m\1%d(?:[ T]%H(?::%M(?::%S)?)?)?")


@lru_cache(maxsize=64)
def time_parser(fmt: str) -> Callable[[str], datetime]:
    """``lambda value: datetime.strptime(value, fmt)``, compiled once per format.

    When ``fmt`` is made only of ``%Y %m %d %H %M %S``, ``%%`` and literal characters, a value
    written in the canonical width with ASCII digits in range (``2026/05/06 09:00``) is read by
    one regular expression and ``datetime.fromisoformat`` or ``datetime(...)``. Everything else —
    other directives, short fields (``2026/5/6``), other whitespace, 24:00, 2026-02-30 — goes to
    ``strptime`` itself, so the result or the ``ValueError`` is always strptime's: the fast paths
    accept a subset of what strptime accepts and read it to the same value. The last few hundred
    values are remembered (consecutive records print the same minute; ``datetime`` is immutable);
    errors are not.
    """
    read = _time_reader(fmt)
    memo: dict[str, datetime] = {}

    def parse(value: str) -> datetime:
        dt = memo.get(value)
        if dt is None:
            dt = read(value)
            if len(memo) >= 256:
                memo.clear()
            memo[value] = dt
        return dt

    return parse


def _time_reader(fmt: str) -> Callable[[str], datetime]:
    strptime = datetime.strptime

    def slow(value: str) -> datetime:
        return strptime(value, fmt)

    parts: list[str] = []
    order: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            parts.append(re.escape(ch))
            i += 1
            continue
        d = fmt[i + 1:i + 2]
        if d == "%":
            parts.append("%")
        elif d in _TIME_DIGITS and d not in order:
            parts.append(f"({_TIME_DIGITS[d]})")
            order.append(d)
        else:                      # another directive, a repeated one or a lone % at the end
            return slow
        i += 2
    fullmatch = re.compile("".join(parts), re.ASCII).fullmatch

    iso = _ISO_LIKE.fullmatch(fmt)
    if iso is not None:
        sep = iso.group(1)
        fromiso = datetime.fromisoformat

        def iso_like(value: str) -> datetime:
            if fullmatch(value) is not None:
                try:
                    return fromiso(value if sep == "-" else value.replace(sep, "-"))
                except ValueError:      # 2026-02-30: strptime says what is wrong
                    pass
            return strptime(value, fmt)

        return iso_like

    where = {d: k for k, d in enumerate(order)}
    index = tuple(where.get(d, -1) for d in "YmdHMS")
    default = tuple(_TIME_DEFAULT[d] for d in "YmdHMS")

    def by_fields(value: str) -> datetime:
        m = fullmatch(value)
        if m is not None:
            g = m.groups()
            try:
                return datetime(*[int(g[k]) if k >= 0 else dv
                                  for k, dv in zip(index, default, strict=True)])
            except ValueError:
                pass
        return strptime(value, fmt)

    return by_fields
