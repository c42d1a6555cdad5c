"""The generic profile decoder: framing → text → fields → ``AnalyzerReading``.

Sans-I/O like every decoder. Every byte fed in comes back exactly once, in order, as the ``raw``
of a ``Decoded``, ``DecodeError`` or ``Discarded`` event (``Send`` carries only the optional ACK/NAK
of the profile). An unterminated record is reported after ``idle_timeout`` seconds of silence
(``poll``), so a half message from an instrument that restarted is never silently glued to the next.

Speed (docs/performance.md, "Codecs and the serial path"): the profile is compiled once per
decoder (``_compile``) into field steps — where each field sits in the split record, its kind,
its check pattern, its converter — so a record costs one decode, one split (or the profile's one
regular expression) and one pass over the fields, with no look-up in the profile. Framing scans
the buffer with ``find`` from a moving offset and trims what was consumed once per ``feed``.
Times are read by ``time_parser``: strptime's results and errors at a fraction of its cost.
"""

from __future__ import annotations

from typing import Any

from instruments.base import AnalyzerReading, Decoded, DecodeError, Discarded, Event, Send
from instruments.profiles.schema import FIELD_KINDS, Profile
from instruments.profiles.timefields import time_parser

STX, ETX = b"\x02", b"\x03"

_BETWEEN_FRAMES = "bytes between frames"
_new = object.__new__


class FieldError(ValueError):
    pass


# ------------------------------------------------------------------------------------- times

#: the strptime directives the fast paths read: a canonical value's digits, in range
# ------------------------------------------------------------------------------------- the plan

#: a text field without a check pattern: (name, index into the split record); cannot fail
Plain = tuple[str, int]
#: any other field: (kind, name, where, index, its check pattern's fullmatch or None, that
#: pattern's text, whether the pattern has a value group, the time converter or None)
Checked = tuple[str, str, str, int, Any, str, bool, Any]


def _compile(p: Profile) -> tuple[tuple[Plain, ...], tuple[Checked, ...]]:
    """The profile's fields as steps, in record order, the ignored ("_…") ones left out.

    Plain text fields cannot fail, so they are read apart; the others keep the record order, so
    the field reported is the first one at fault.
    """
    if p.pattern is not None:
        # the fields are the named groups in groupdict() order; values from match.groups()
        slots = [(name, number - 1) for name, number in p.pattern.groupindex.items()]
    else:
        slots = [(name, k) for k, name in enumerate(p.columns)]
    plain: list[Plain] = []
    checked: list[Checked] = []
    for pos, (name, index) in enumerate(slots, start=1):
        if name.startswith("_"):
            continue
        spec = p.fields.get(name)
        kind = FIELD_KINDS[name]
        pat = spec.pattern if spec is not None else None
        if kind == "text" and pat is None:
            plain.append((name, index))
            continue
        conv = None
        if kind == "time":
            assert spec is not None and spec.format
            conv = time_parser(spec.format)
        checked.append((kind, name, f"field {name!r} (#{pos})", index,
                        pat.fullmatch if pat is not None else None,
                        pat.pattern if pat is not None else "",
                        bool(pat is not None and pat.groups), conv))
    return tuple(plain), tuple(checked)


class ProfileDecoder:
    def __init__(self, profile: Profile):
        self.profile = p = profile
        self.name = f"profile:{profile.name}"
        self._buf = bytearray()
        self._last: float | None = None
        self._plain, self._checked = _compile(p)
        names = set(p.field_names)
        self._extra_text = tuple(k for k in ("sample_name", "tested_unit", "lot") if k in names)
        self._moved = tuple(k for k in ("cutoff", "limit") if k in names)
        self._encoding = p.encoding
        self._fullmatch = p.pattern.fullmatch if p.pattern is not None else None
        self._ncolumns = len(p.columns)
        self._ack = Send(p.ack) if p.ack else None        # frozen: one instance will do
        self._nak = Send(p.nak) if p.nak else None
        self._is_line = p.framing == "line"

    # -- the Decoder interface ------------------------------------------------------------
    def feed(self, data: bytes, now: float) -> list[Event]:
        events: list[Event] = []
        if data:
            self._buf += data
            self._last = now
        if self._is_line:
            self._lines(events)
        else:
            self._frames(events)
        return events

    def poll(self, now: float) -> list[Event]:
        if not self._buf or self._last is None or now - self._last < self.profile.idle_timeout:
            return []
        raw = bytes(self._buf)
        self._buf.clear()
        if not self._could_be_record(raw):
            return [Discarded(raw, "noise (no record start) before a silence")]
        return [DecodeError(raw, f"incomplete record: no end of record after "
                                 f"{self.profile.idle_timeout:g} s of silence "
                                 "(instrument restarted or cable pulled?)")]

    # -- framing ----------------------------------------------------------------------------
    def _could_be_record(self, raw: bytes) -> bool:
        p = self.profile
        if not raw.strip():
            return False
        if p.framing == "stx_etx":
            return raw.startswith(STX)
        if p.record_start is not None:
            return p.record_start.search(raw) is not None
        return True

    def _lines(self, events: list[Event]) -> None:
        p = self.profile
        buf = self._buf
        term = p.terminator
        tlen = len(term)
        pos = 0
        while True:
            i = buf.find(term, pos)
            if i < 0:
                if len(buf) - pos > p.max_length:
                    raw = bytes(buf[pos:])
                    pos = len(buf)
                    events.append(DecodeError(raw, f"no line end {term!r} within "
                                                   f"{p.max_length} bytes"))
                break
            line = bytes(buf[pos:i + tlen])
            pos = i + tlen
            self._line(line, tlen, events)
        del buf[:pos]

    def _line(self, line: bytes, tlen: int, events: list[Event]) -> None:
        p = self.profile
        body = line[:-tlen] if tlen else line
        if not body.strip():
            events.append(Discarded(line, "empty line"))
            return
        starts = list(p.record_start.finditer(body)) if p.record_start is not None else []
        if not starts:
            loose = body.decode(p.encoding, errors="replace")
            if any(s.search(loose) for s in p.skip):
                events.append(Discarded(line, "header line (profile text.skip)"))
                return
        if p.record_start is not None:
            if not starts:
                events.append(DecodeError(line, "no record start (profile framing.record_start) "
                                                "in this line"))
                return
            begin = starts[-1].start()
            if begin > 0:
                prefix, line, body = line[:begin], line[begin:], body[begin:]
                if len(starts) > 1:
                    events.append(DecodeError(prefix, "incomplete record: a new record started "
                                                      "before this one ended"))
                else:
                    events.append(Discarded(prefix, "noise before a record start"))
        self._record(line, body, events)

    def _frames(self, events: list[Event]) -> None:
        buf = self._buf
        data = bytes(buf)                     # one copy; its slices are the events' raw bytes
        find = data.find
        n = len(data)
        pos = 0
        while pos < n:
            s = find(STX, pos)
            if s < 0:
                events.append(Discarded(data[pos:], _BETWEEN_FRAMES))
                pos = n
                break
            if s > pos:
                events.append(Discarded(data[pos:s], _BETWEEN_FRAMES))
                pos = s
            e = find(ETX, pos + 1)
            s2 = find(STX, pos + 1, e) if e >= 0 else find(STX, pos + 1)
            if s2 >= 0:                       # another STX (before the ETX, if there is one)
                events.append(DecodeError(data[pos:s2], "incomplete frame: STX again "
                                          "before ETX (instrument restarted mid-message?)"))
                pos = s2
                continue
            if e < 0:
                max_length = self.profile.max_length
                if n - pos > max_length:
                    events.append(DecodeError(data[pos:], f"no ETX within {max_length} bytes"))
                    pos = n
                break
            frame = data[pos:e + 1]
            pos = e + 1
            self._record(frame, frame[1:-1], events)
        del buf[:pos]

    # -- records ----------------------------------------------------------------------------
    def _record(self, raw: bytes, body: bytes, events: list[Event]) -> None:
        try:
            text = body.decode(self._encoding)
        except UnicodeDecodeError as exc:
            self._bad(raw, f"not valid {self._encoding} text at byte {exc.start} of the record",
                      events)
            return
        try:
            reading = self._reading(raw, self._split(text.rstrip("\r\n")))
        except FieldError as exc:
            self._bad(raw, str(exc), events)
            return
        events.append(Decoded(reading))
        if self._ack is not None:
            events.append(self._ack)

    def _bad(self, raw: bytes, message: str, events: list[Event]) -> None:
        events.append(DecodeError(raw, message))
        if self._nak is not None:
            events.append(self._nak)

    def _split(self, text: str) -> tuple[str | None, ...] | list[str]:
        """The record's field values, indexed by the steps' ``index``."""
        if self._fullmatch is not None:
            m = self._fullmatch(text)
            if m is None:
                raise FieldError(f"record does not match the profile pattern: {text[:80]!r}")
            return m.groups()
        delimiter = self.profile.delimiter
        assert delimiter is not None
        parts = text.split(delimiter)
        if len(parts) != self._ncolumns:
            raise FieldError(f"expected {self._ncolumns} fields separated by {delimiter!r}, "
                             f"got {len(parts)}")
        return parts

    def _reading(self, raw: bytes, parts: tuple[str | None, ...] | list[str]) -> AnalyzerReading:
        p = self.profile
        invalid_words = p.invalid
        values: dict[str, Any] = {}
        text: dict[str, str] = {name: (parts[index] or "").strip() for name, index in self._plain}
        invalid: dict[str, str] = {}
        verdict = tested_at = None
        for kind, name, where, index, fullmatch, pattern, grouped, conv in self._checked:
            value = (parts[index] or "").strip()
            if kind == "number" and invalid_words and value.lower() in invalid_words:
                values[name] = None
                invalid[name] = value
                continue
            if fullmatch is not None:
                m = fullmatch(value)
                if m is None:
                    raise FieldError(f"{where}: {value!r} does not match {pattern!r}")
                if grouped:
                    value = m.group(1) or ""
            if kind == "number":
                try:
                    values[name] = float(value)
                except ValueError:
                    raise FieldError(f"{where}: {value!r} is not a number") from None
            elif kind == "verdict":
                if value and value not in p.verdicts:
                    raise FieldError(f"{where}: unknown verdict word {value!r}; the profile "
                                     f"knows {sorted(p.verdicts)}")
                verdict = value or None
            elif kind == "time":
                try:
                    tested_at = conv(value)
                except ValueError:
                    raise FieldError(f"{where}: {value!r} is not a time in format "
                                     f"{p.fields[name].format!r}") from None
            else:
                text[name] = value
        get = text.get
        unit = get("unit")
        if unit:
            values["unit"] = unit
        channel = get("channel")
        if channel and channel.isdecimal():        # "07" → "7" (isdecimal: what int() reads)
            channel = str(int(channel))
        extra: dict[str, Any] = {}
        for k in self._extra_text:                 # sample_name, tested_unit, lot
            v = get(k)
            if v:
                extra[k] = v
        for k in self._moved:                      # cutoff, limit: in values when mapped
            extra[k] = values.pop(k)
        if invalid:
            extra["invalid"] = invalid
        if verdict:
            extra["verdict_outcome"] = p.verdicts[verdict]
        item = get("test_item")
        if item and item in p.tests:
            extra["method"] = p.tests[item]
        # AnalyzerReading(raw=…, …) without the frozen dataclass's __init__ (one
        # object.__setattr__ per field, a fifth of a record's time): the same object with the
        # same __dict__ in field order; tests/instruments/test_profiles.py holds it to that.
        reading = _new(AnalyzerReading)
        reading.__dict__.update(
            raw=raw, sample_id=get("sample_id") or None, test_id=item or None,
            channel=channel or None, values=values, verdict=verdict, tested_at=tested_at,
            operator=get("operator") or None, instrument_serial=get("serial") or None,
            flags=None, status=None, extra=extra)
        return reading
