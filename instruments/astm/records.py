"""ASTM E1394 (CLSI LIS2-A2) records: parse and encode, with the header's delimiters.

A record is a line of fields; a field holds repeats, a repeat holds components:
``Field = tuple[tuple[str, ...], ...]`` (repeats of components, escapes already undone).
``record.field(n)`` uses the standard's 1-based field numbers (field 1 is the record type).
Field 2 of the H record holds the delimiters themselves and is never split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from instruments.astm.codec import RecordError

Field = tuple[tuple[str, ...], ...]
FieldLike = str | tuple[str, ...] | list[tuple[str, ...]] | None


@dataclass(frozen=True)
class Delimiters:
    field: str = "|"
    repeat: str = "\\"
    component: str = "^"
    escape: str = "&"

    @classmethod
    def from_header(cls, line: str) -> Delimiters:
        """Read the delimiters declared at the start of an H record (``H|\\^&``)."""
        if len(line) < 5 or line[0] != "H":
            raise RecordError(f"header record {line[:20]!r} must start with 'H' and four delimiters")
        d = cls(field=line[1], repeat=line[2], component=line[3], escape=line[4])
        chars = [d.field, d.repeat, d.component, d.escape]
        if len(set(chars)) != 4 or any(c.isalnum() or c in "\r\n " for c in chars):
            raise RecordError(f"header record declares invalid delimiters {''.join(chars)!r}: "
                              "they must be four distinct non-alphanumeric characters")
        if len(line) > 5 and line[5] != d.field:
            raise RecordError(f"header field 2 {line[1:8]!r}: after the three delimiters "
                              f"expected the field delimiter {d.field!r}")
        return d

    @property
    def header_field(self) -> str:
        return self.repeat + self.component + self.escape

    def unescape(self, text: str) -> str:
        e = self.escape
        if e not in text:
            return text
        table = {"F": self.field, "S": self.component, "R": self.repeat, "E": self.escape}
        out: list[str] = []
        i = 0
        while i < len(text):
            if text[i] == e and i + 2 < len(text) and text[i + 2] == e and text[i + 1] in table:
                out.append(table[text[i + 1]])
                i += 3
            else:  # other sequences (&H&, &Xhh&) are kept as sent
                out.append(text[i])
                i += 1
        return "".join(out)

    def escape_text(self, text: str) -> str:
        e = self.escape
        text = text.replace(e, f"{e}E{e}")
        return (text.replace(self.field, f"{e}F{e}").replace(self.repeat, f"{e}R{e}")
                .replace(self.component, f"{e}S{e}"))


DEFAULT_DELIMITERS = Delimiters()


def _split_field(raw: str, d: Delimiters) -> Field:
    return tuple(tuple(d.unescape(c) for c in rep.split(d.component))
                 for rep in raw.split(d.repeat))


def _as_field(value: FieldLike) -> Field:
    if value is None:
        return (("",),)
    if isinstance(value, str):
        return ((value,),)
    if isinstance(value, tuple):
        return (tuple(value),)
    return tuple(tuple(rep) for rep in value)


@dataclass(frozen=True)
class Record:
    """One record; ``fields[0]`` is field 1 (the type). Typed subclasses name the fields."""

    fields: tuple[Field, ...]

    TYPE: ClassVar[str] = ""
    #: field name → field number, as numbered in E1394 / LIS2-A2
    FIELDS: ClassVar[dict[str, int]] = {}

    @property
    def type(self) -> str:
        return self.fields[0][0][0]

    def field(self, n: int) -> Field:
        """Field ``n`` (1-based, as numbered in the standard); an empty field when absent."""
        if n < 1:
            raise ValueError("field numbers start at 1")
        return self.fields[n - 1] if n <= len(self.fields) else (("",),)

    def component(self, n: int, c: int = 1, repeat: int = 1) -> str:
        """Component ``c`` (1-based) of repeat ``repeat`` of field ``n``; '' when absent."""
        f = self.field(n)
        if repeat > len(f):
            return ""
        rep = f[repeat - 1]
        return rep[c - 1] if c <= len(rep) else ""

    def text(self, name_or_number: str | int) -> str:
        """First component of the first repeat of a field, by name (``FIELDS``) or number."""
        n = self.FIELDS[name_or_number] if isinstance(name_or_number, str) else name_or_number
        return self.component(n)

    def first_nonempty(self, n: int) -> str:
        """The first non-empty component of field ``n`` (any repeat), or ''."""
        for rep in self.field(n):
            for comp in rep:
                if comp:
                    return comp
        return ""

    @classmethod
    def build(cls, type_: str | None = None, values: dict[int | str, FieldLike] | None = None
              ) -> Record:
        """Make a record from field numbers (or names) → str / components / repeats."""
        rtype = type_ or cls.TYPE
        if not rtype:
            raise ValueError("record type required")
        by_num: dict[int, Field] = {}
        for key, v in (values or {}).items():
            n = cls.FIELDS[key] if isinstance(key, str) else key
            if n < 2:
                raise ValueError("field 1 is the record type; give fields from 2 on")
            by_num[n] = _as_field(v)
        last = max(by_num, default=1)
        fields = [((rtype,),)] + [by_num.get(i, (("",),)) for i in range(2, last + 1)]
        klass = RECORD_TYPES.get(rtype, Record)
        return klass(tuple(fields))


class HeaderRecord(Record):
    TYPE = "H"
    FIELDS = {"delimiters": 2, "message_id": 3, "password": 4, "sender": 5, "address": 6,
              "phone": 8, "characteristics": 9, "receiver": 10, "comment": 11,
              "processing_id": 12, "version": 13, "timestamp": 14}


class PatientRecord(Record):
    TYPE = "P"
    FIELDS = {"seq": 2, "practice_id": 3, "lab_id": 4, "patient_id3": 5, "name": 6}


class OrderRecord(Record):
    TYPE = "O"
    FIELDS = {"seq": 2, "specimen_id": 3, "instrument_specimen_id": 4, "test_id": 5,
              "priority": 6, "requested_at": 7, "collected_at": 8, "action_code": 12,
              "specimen_descriptor": 16, "reported_at": 23, "report_type": 26}


class ResultRecord(Record):
    TYPE = "R"
    FIELDS = {"seq": 2, "test_id": 3, "value": 4, "units": 5, "ranges": 6, "flags": 7,
              "nature": 8, "status": 9, "norms_changed": 10, "operator": 11, "started": 12,
              "completed": 13, "instrument": 14}


class CommentRecord(Record):
    TYPE = "C"
    FIELDS = {"seq": 2, "source": 3, "text": 4, "comment_type": 5}


class QueryRecord(Record):
    TYPE = "Q"
    FIELDS = {"seq": 2, "start_range": 3, "end_range": 4, "test_id": 5, "time_limits": 6,
              "begin": 7, "end": 8, "status_codes": 13}


class TerminatorRecord(Record):
    TYPE = "L"
    FIELDS = {"seq": 2, "code": 3}


RECORD_TYPES: dict[str, type[Record]] = {
    k.TYPE: k for k in (HeaderRecord, PatientRecord, OrderRecord, ResultRecord, CommentRecord,
                        QueryRecord, TerminatorRecord)
}


def parse_record(line: str, delims: Delimiters = DEFAULT_DELIMITERS) -> Record:
    """Parse one record's text (without its CR). An H record re-declares the delimiters and is
    parsed with its own; field 2 of H is kept whole."""
    line = line.rstrip("\r")
    if not line:
        raise RecordError("empty record")
    rtype = line[0]
    if not (rtype.isascii() and rtype.isalpha()):
        raise RecordError(f"record {line[:20]!r} does not start with a record type letter")
    if rtype == "H":
        d = Delimiters.from_header(line)
        rest = line[6:] if len(line) > 6 else ""
        fields: list[Field] = [(("H",),), ((d.header_field,),)]
        if len(line) > 5:
            fields += [_split_field(f, d) for f in rest.split(d.field)]
    else:
        if len(line) > 1 and line[1] != delims.field:
            raise RecordError(f"record {line[:20]!r}: expected field delimiter {delims.field!r} "
                              "after the record type")
        fields = [((rtype,),)] + [_split_field(f, delims) for f in line[2:].split(delims.field)] \
            if len(line) > 1 else [((rtype,),)]
    return RECORD_TYPES.get(rtype, Record)(tuple(fields))


def encode_record(record: Record, delims: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Encode a record (without the trailing CR); the inverse of ``parse_record``."""
    d = delims
    parts: list[str] = [record.type]
    for i, f in enumerate(record.fields[1:], start=2):
        if record.type == "H" and i == 2:
            parts.append(d.header_field)
            continue
        parts.append(d.repeat.join(d.component.join(d.escape_text(c) for c in rep) for rep in f))
    return d.field.join(parts)


def parse_records(text: str) -> list[Record]:
    """Parse CR-separated records; each H record sets the delimiters for what follows."""
    delims = DEFAULT_DELIMITERS
    out: list[Record] = []
    for i, line in enumerate(t for t in text.split("\r") if t):
        try:
            rec = parse_record(line, delims)
        except RecordError as e:
            raise RecordError(f"record {i + 1}: {e}") from None
        if rec.type == "H":
            delims = Delimiters.from_header(line)
        out.append(rec)
    return out
