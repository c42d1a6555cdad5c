"""From an ASTM message's records to AnalyzerReading events (E1394 / LIS2-A2 field numbers).

What a reading takes from which field:

- ``sample_id``: O.3 specimen ID (first component), else O.4 instrument specimen ID;
- ``test_id``: R.3 universal test ID, the manufacturer's local code (component 4, as in
  ``^^^GLU``), else its first non-empty component; component 5 (name) goes to ``extra``;
- ``values``: a numeric R.4 becomes ``{"value": float, "unit": R.5}`` (a ``<``/``>`` prefix is
  kept in ``extra["qualifier"]``); ``value_keys`` maps a test id to another raw key of the
  product, e.g. ``{"INH": "inhibition"}`` gives ``{"inhibition": 62.5, "unit": "%"}``; a non-numeric R.4 (``NEG``, ``阴性``) is the instrument's
  ``verdict``, as is a second component of R.4 (``12.5^POS``);
- ``flags`` R.7, ``status`` R.9, ``operator`` R.11, ``tested_at`` R.13 (else R.12, else H.14),
  ``instrument_serial`` R.14; reference ranges R.6, the P record's patient id (here the
  sample's source), the sender H.5 and C records after the R go to ``extra``.

Byte accounting: each reading's ``raw`` is the frames of its R record and of the C records
after it; the other records' frames (H, P, O, Q, L …) come back as one ``Discarded`` envelope.
``extra["message_key"]`` identifies the reading within its message (hash of the whole message
text + index), so the same message replayed gives the same keys (see ``base.reading_key``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from instruments.astm.codec import RecordError
from instruments.astm.records import (
    CommentRecord,
    Delimiters,
    HeaderRecord,
    OrderRecord,
    PatientRecord,
    Record,
    ResultRecord,
    parse_record,
)
from instruments.base import AnalyzerReading, Decoded, DecodeError, Discarded, Event

_NUMBER = re.compile(r"^\s*(<=|>=|<|>)?\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$")
_DATE_FORMATS = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}


@dataclass
class Segment:
    """One record's text (without CR) and the frame bytes that carried it."""

    text: bytes
    raw: bytes


def decode_text(data: bytes, encodings: tuple[str, ...]) -> str:
    for enc in encodings:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise RecordError(f"text is not valid in any of {list(encodings)}")


def parse_timestamp(value: str, where: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    fmt = _DATE_FORMATS.get(len(value))
    try:
        if fmt is None or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, fmt)
    except ValueError:
        raise RecordError(f"{where}: {value!r} is not a date/time YYYYMMDD[HHMM[SS]]") from None


@dataclass
class _Pending:
    record: ResultRecord
    raw: bytes
    order: OrderRecord | None
    patient: PatientRecord | None
    comments: list[str]
    index: int


def _reading(p: _Pending, header: HeaderRecord, key: str, termination: str,
             value_keys: dict[str, str]) -> AnalyzerReading:
    r = p.record
    seq = r.text("seq")
    where = f"R record {seq or p.index}"
    test_id = r.component(3, 4) or r.first_nonempty(3)
    if not test_id:
        raise RecordError(f"{where}: field 3 (universal test ID) is empty")
    value_text = r.component(4, 1).strip()
    interp = r.component(4, 2).strip()
    units = r.text("units").strip()
    values: dict[str, object] = {}
    extra: dict[str, object] = {"message_key": f"{key}:{p.index}", "sequence": seq}
    verdict: str | None = interp or None
    m = _NUMBER.match(value_text)
    if m:
        values[value_keys.get(test_id, "value")] = float(m.group(2))
        values["unit"] = units
        if m.group(1):
            extra["qualifier"] = m.group(1)
    elif value_text:
        verdict = value_text
        if units:
            extra["units"] = units
    else:
        status = r.text("status")
        raise RecordError(f"{where} (test {test_id}): field 4 (value) is empty"
                          + (f" (status {status!r})" if status else ""))
    started = parse_timestamp(r.text("started"), f"{where} field 12 (started)")
    completed = parse_timestamp(r.text("completed"), f"{where} field 13 (completed)")
    sent = parse_timestamp(header.text("timestamp"), "H record field 14 (message date/time)")
    if started:
        extra["started_at"] = started.isoformat()
    if name := r.component(3, 5):
        extra["test_name"] = name
    if ranges := r.text("ranges"):
        extra["reference_range"] = ranges
    if sender := "^".join(header.field(5)[0]).strip("^"):
        extra["sender"] = sender
    if p.patient is not None and (pid := p.patient.first_nonempty(3) or p.patient.first_nonempty(4)):
        extra["patient_id"] = pid
    if p.comments:
        extra["comments"] = p.comments
    if termination and termination != "N":
        extra["termination"] = termination
    sample_id = None
    if p.order is not None:
        sample_id = p.order.component(3, 1) or p.order.first_nonempty(4) or None
    flags = ",".join(c for rep in r.field(7) for c in rep if c) or None
    return AnalyzerReading(
        raw=p.raw, sample_id=sample_id, test_id=test_id, values=values, verdict=verdict,
        tested_at=completed or started or sent, operator=r.first_nonempty(11) or None,
        instrument_serial=r.first_nonempty(14) or None, flags=flags,
        status=r.text("status") or None, extra=extra,
    )


def _interpret_group(group: list[Segment], encodings: tuple[str, ...],
                     value_keys: dict[str, str]) -> list[Event]:
    raw_all = b"".join(s.raw for s in group)
    texts = [s.text for s in group if s.text]
    try:
        lines = [decode_text(s.text, encodings) for s in group]
        first = next(i for i, t in enumerate(lines) if t)
        header = parse_record(lines[first])
        if not isinstance(header, HeaderRecord):
            raise RecordError("message does not start with an H record")
        delims = Delimiters.from_header(lines[first])
        last = next(i for i in range(len(lines) - 1, -1, -1) if lines[i])
        if not lines[last].startswith("L"):
            raise RecordError(f"message has no L terminator record (last record is "
                              f"{lines[last][:1]!r}): incomplete message")
    except (RecordError, StopIteration) as e:
        return [DecodeError(raw_all, f"ASTM message rejected: {e or 'no records'}")]
    key = hashlib.sha256(b"\r".join(texts)).hexdigest()[:32]
    events: list[Event] = []
    envelope = bytearray()
    pending: list[_Pending] = []
    order: OrderRecord | None = None
    patient: PatientRecord | None = None
    termination = ""
    current: _Pending | None = None
    for i, (seg, line) in enumerate(zip(group, lines, strict=True)):
        if not line:
            envelope += seg.raw
            continue
        try:
            rec: Record = parse_record(line, delims)
        except RecordError as e:
            events.append(DecodeError(seg.raw, f"ASTM record {i + 1} ({line[:1]!r}): {e}"))
            current = None
            continue
        if isinstance(rec, ResultRecord):
            current = _Pending(rec, seg.raw, order, patient, [], len(pending) + 1)
            pending.append(current)
            continue
        if isinstance(rec, CommentRecord) and current is not None:
            current.comments.append(rec.first_nonempty(4))
            current.raw += seg.raw
            continue
        current = None
        envelope += seg.raw
        if isinstance(rec, PatientRecord):
            patient, order = rec, None
        elif isinstance(rec, OrderRecord):
            order = rec
        elif rec.type == "L":
            termination = rec.text(3)
    for p in pending:
        try:
            events.append(Decoded(_reading(p, header, key, termination, value_keys)))
        except RecordError as e:
            events.append(DecodeError(p.raw, f"ASTM result rejected: {e}"))
    if envelope:
        why = "message envelope (H/P/O/L records)" if pending else \
            "message without result records (H/P/O/Q/L only)"
        events.append(Discarded(bytes(envelope), why))
    return events


def interpret(segments: list[Segment], encodings: tuple[str, ...] = ("utf-8", "gb18030"),
              value_keys: dict[str, str] | None = None) -> list[Event]:
    """Turn a session's records into events; each H starts a new message."""
    groups: list[list[Segment]] = []
    for seg in segments:
        if seg.text[:1] == b"H" or not groups:
            groups.append([])
        groups[-1].append(seg)
    events: list[Event] = []
    for g in groups:
        if g and g[0].text[:1] != b"H" and any(s.text for s in g):
            events.append(DecodeError(b"".join(s.raw for s in g),
                                      "ASTM records before any H header record"))
        elif g:
            events.extend(_interpret_group(g, encodings, value_keys or {}))
    return [e for e in events if not (isinstance(e, Discarded) and not e.raw)]
