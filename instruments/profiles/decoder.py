"""The generic profile decoder: framing → text → fields → ``AnalyzerReading``.

Sans-I/O like every decoder. Every byte fed in comes back exactly once, in order, as the ``raw``
of a ``Decoded``, ``DecodeError`` or ``Discarded`` event (``Send`` carries only the optional ACK/NAK
of the profile). An unterminated record is reported after ``idle_timeout`` seconds of silence
(``poll``), so a half message from an instrument that restarted is never silently glued to the next.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from instruments.base import AnalyzerReading, Decoded, DecodeError, Discarded, Event, Send
from instruments.profiles.schema import FIELD_KINDS, Profile

STX, ETX = b"\x02", b"\x03"


class FieldError(ValueError):
    pass


class ProfileDecoder:
    def __init__(self, profile: Profile):
        self.profile = profile
        self.name = f"profile:{profile.name}"
        self._buf = bytearray()
        self._last: float | None = None

    # -- the Decoder interface ------------------------------------------------------------
    def feed(self, data: bytes, now: float) -> list[Event]:
        events: list[Event] = []
        if data:
            self._buf += data
            self._last = now
        if self.profile.framing == "line":
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
        term = p.terminator
        while True:
            i = self._buf.find(term)
            if i < 0:
                if len(self._buf) > p.max_length:
                    raw = bytes(self._buf)
                    self._buf.clear()
                    events.append(DecodeError(raw, f"no line end {term!r} within "
                                                   f"{p.max_length} bytes"))
                return
            line = bytes(self._buf[:i + len(term)])
            del self._buf[:i + len(term)]
            self._line(line, len(term), events)

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
        events.extend(self._record(line, body))

    def _frames(self, events: list[Event]) -> None:
        p = self.profile
        while self._buf:
            s = self._buf.find(STX)
            if s < 0:
                events.append(Discarded(bytes(self._buf), "bytes between frames"))
                self._buf.clear()
                return
            if s > 0:
                events.append(Discarded(bytes(self._buf[:s]), "bytes between frames"))
                del self._buf[:s]
            e = self._buf.find(ETX, 1)
            s2 = self._buf.find(STX, 1)
            if s2 >= 0 and (e < 0 or s2 < e):
                events.append(DecodeError(bytes(self._buf[:s2]), "incomplete frame: STX again "
                                          "before ETX (instrument restarted mid-message?)"))
                del self._buf[:s2]
                continue
            if e < 0:
                if len(self._buf) > p.max_length:
                    events.append(DecodeError(bytes(self._buf), f"no ETX within {p.max_length} "
                                                                "bytes"))
                    self._buf.clear()
                return
            frame = bytes(self._buf[:e + 1])
            del self._buf[:e + 1]
            events.extend(self._record(frame, frame[1:-1]))

    # -- records ----------------------------------------------------------------------------
    def _record(self, raw: bytes, body: bytes) -> list[Event]:
        p = self.profile
        try:
            text = body.decode(p.encoding)
        except UnicodeDecodeError as exc:
            return self._bad(raw, f"not valid {p.encoding} text at byte {exc.start} of the record")
        text = text.rstrip("\r\n")
        try:
            reading = self._reading(raw, self._split(text))
        except FieldError as exc:
            return self._bad(raw, str(exc))
        out: list[Event] = [Decoded(reading)]
        if p.ack:
            out.append(Send(p.ack))
        return out

    def _bad(self, raw: bytes, message: str) -> list[Event]:
        out: list[Event] = [DecodeError(raw, message)]
        if self.profile.nak:
            out.append(Send(self.profile.nak))
        return out

    def _split(self, text: str) -> dict[str, str]:
        p = self.profile
        if p.pattern is not None:
            m = p.pattern.fullmatch(text)
            if m is None:
                raise FieldError(f"record does not match the profile pattern: {text[:80]!r}")
            return {k: (v or "").strip() for k, v in m.groupdict().items()}
        assert p.delimiter is not None
        parts = text.split(p.delimiter)
        if len(parts) != len(p.columns):
            raise FieldError(f"expected {len(p.columns)} fields separated by {p.delimiter!r}, "
                             f"got {len(parts)}")
        return {name: part.strip() for name, part in zip(p.columns, parts, strict=True)}

    def _reading(self, raw: bytes, fields: dict[str, str]) -> AnalyzerReading:
        p = self.profile
        values: dict[str, Any] = {}
        text: dict[str, str] = {}
        invalid: dict[str, str] = {}
        verdict = tested_at = None
        for pos, (name, value) in enumerate(fields.items(), start=1):
            if name.startswith("_"):
                continue
            where = f"field {name!r} (#{pos})"
            spec = p.fields.get(name)
            kind = FIELD_KINDS[name]
            if value.strip().lower() in p.invalid and kind == "number":
                values[name] = None
                invalid[name] = value
                continue
            if spec is not None and spec.pattern is not None:
                m = spec.pattern.fullmatch(value)
                if m is None:
                    raise FieldError(f"{where}: {value!r} does not match {spec.pattern.pattern!r}")
                if spec.pattern.groups:
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
                assert spec is not None and spec.format
                try:
                    tested_at = datetime.strptime(value, spec.format)
                except ValueError:
                    raise FieldError(f"{where}: {value!r} is not a time in format "
                                     f"{spec.format!r}") from None
            else:
                text[name] = value
        if text.get("unit"):
            values["unit"] = text["unit"]
        channel = text.get("channel")
        if channel and channel.isdigit():
            channel = str(int(channel))
        extra: dict[str, Any] = {k: text[k] for k in ("sample_name", "tested_unit", "lot")
                                 if text.get(k)}
        for k in ("cutoff", "limit"):
            if k in values:
                extra[k] = values.pop(k)
        if invalid:
            extra["invalid"] = invalid
        if verdict:
            extra["verdict_outcome"] = p.verdicts[verdict]
        item = text.get("test_item")
        if item and item in p.tests:
            extra["method"] = p.tests[item]
        return AnalyzerReading(
            raw=raw, sample_id=text.get("sample_id") or None, test_id=item or None,
            channel=channel or None, values=values, verdict=verdict, tested_at=tested_at,
            operator=text.get("operator") or None, instrument_serial=text.get("serial") or None,
            extra=extra,
        )
