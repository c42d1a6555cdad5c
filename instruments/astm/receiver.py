"""ASTM E1381 receiver: a sans-I/O state machine implementing ``instruments.base.Decoder``.

Idle: ENQ → ACK (NAK when ``busy``); anything else is noise (``Discarded``).
Transfer: each frame ``STX … CR LF`` is checked (format, checksum) and its frame number compared
with the expected one: the next number → ACK and kept; the previous one (a retransmission whose
ACK was lost) → ACK and dropped; anything else, a bad checksum or a malformed frame → NAK. Stray
bytes ending in LF are answered with NAK (the sender retransmits at once instead of timing out).
EOT ends the session: the kept frames' text is joined (ETB continuations included), split into
records and turned into readings (``instruments.astm.message``). A new ENQ in the middle of a
message (instrument restart) or ``timeout`` seconds of silence discard the incomplete message as a
``DecodeError`` carrying its bytes.
"""

from __future__ import annotations

from instruments.astm.codec import FrameError, decode_frame
from instruments.astm.constants import (
    ACK,
    ENQ,
    EOT,
    FN_MODULO,
    LF,
    MAX_FRAME_BYTES,
    NAK,
    RECEIVER_TIMEOUT,
    STX,
)
from instruments.astm.message import Segment, interpret
from instruments.base import DecodeError, Discarded, Event, Send

_STX, _ENQ, _EOT, _LF = STX[0], ENQ[0], EOT[0], LF[0]


class AstmReceiver:
    """Host side of an ASTM link. ``feed`` bytes from the instrument, write ``Send`` events back."""

    name = "astm"

    def __init__(self, *, timeout: float = RECEIVER_TIMEOUT,
                 encodings: tuple[str, ...] = ("utf-8", "gb18030"), busy: bool = False,
                 value_keys: dict[str, str] | None = None) -> None:
        """``value_keys``: test id → raw key for its numeric value (default ``"value"``)."""
        self.timeout = timeout
        self.value_keys = dict(value_keys or {})
        self.encodings = encodings
        self.busy = busy
        self.in_session = False
        self._last_rx: float | None = None
        self._reset_session()

    # -- state ---------------------------------------------------------------------------------
    def _reset_session(self) -> None:
        self._frames: list[tuple[bytes, bool, bytes]] = []   # (text, final, raw) accepted frames
        self._last_fn: int | None = None
        self._expect = 1
        self._frame = bytearray()        # frame in progress (starts with STX)
        self._stray = bytearray()        # bytes between frames that are not STX/ENQ/EOT

    def _session_raw(self) -> bytes:
        return b"".join(r for _, _, r in self._frames) + bytes(self._frame) + bytes(self._stray)

    # -- Decoder interface -----------------------------------------------------------------------
    def feed(self, data: bytes, now: float) -> list[Event]:
        events: list[Event] = []
        noise = bytearray()
        if data:
            self._last_rx = now
        for b in data:
            if not self.in_session:
                if b == _ENQ:
                    if noise:
                        events.append(Discarded(bytes(noise), "noise outside a session"))
                        noise.clear()
                    events += self._on_enq()
                else:
                    noise.append(b)
                continue
            if self._frame:
                if b in (_STX, _ENQ, _EOT):
                    events.append(Discarded(bytes(self._frame),
                                            f"incomplete frame cut short by {bytes([b])!r}"))
                    self._frame.clear()
                else:
                    self._frame.append(b)
                    if b == _LF:
                        events += self._on_frame(bytes(self._frame))
                        self._frame.clear()
                    elif len(self._frame) > MAX_FRAME_BYTES:
                        events += [Discarded(bytes(self._frame), "frame too long, no CR LF"),
                                   Send(NAK)]
                        self._frame.clear()
                    continue
            # between frames
            if b == _STX:
                self._flush_stray(events)
                self._frame.append(b)
            elif b == _EOT:
                self._flush_stray(events)
                events += self._on_eot()
            elif b == _ENQ:
                self._flush_stray(events)
                events += self._abort("message interrupted by a new ENQ (instrument restart?)")
                events += self._on_enq()
            else:
                self._stray.append(b)
                if b == _LF:
                    events += [Discarded(bytes(self._stray), "bytes outside a frame (NAKed)"),
                               Send(NAK)]
                    self._stray.clear()
        if noise:
            events.append(Discarded(bytes(noise), "noise outside a session"))
        return events

    def poll(self, now: float) -> list[Event]:
        if self.in_session and self._last_rx is not None and now - self._last_rx >= self.timeout:
            return self._abort(f"no data for {self.timeout:g} s: incomplete message discarded")
        return []

    # -- handlers --------------------------------------------------------------------------------
    def _flush_stray(self, events: list[Event]) -> None:
        if self._stray:
            events.append(Discarded(bytes(self._stray), "bytes outside a frame"))
            self._stray.clear()

    def _on_enq(self) -> list[Event]:
        if self.busy:
            return [Discarded(ENQ, "ENQ refused: receiver busy"), Send(NAK)]
        self.in_session = True
        self._reset_session()
        return [Discarded(ENQ, "ENQ: session start"), Send(ACK)]

    def _abort(self, why: str) -> list[Event]:
        raw = self._session_raw()
        n = len(self._frames)
        self.in_session = False
        self._reset_session()
        if not raw:
            return []
        return [DecodeError(raw, f"ASTM: {why} ({n} frame(s) received)")]

    def _on_frame(self, raw: bytes) -> list[Event]:
        try:
            frame = decode_frame(raw)
        except FrameError as e:
            return [Discarded(raw, f"frame NAKed: {e}"), Send(NAK)]
        if frame.fn == self._expect:
            self._frames.append((frame.text, frame.final, raw))
            self._last_fn = frame.fn
            self._expect = (frame.fn + 1) % FN_MODULO
            return [Send(ACK)]
        if frame.fn == self._last_fn:
            return [Discarded(raw, f"duplicate frame {frame.fn} (retransmission) dropped"),
                    Send(ACK)]
        return [Discarded(raw, f"frame number {frame.fn} where {self._expect} was expected "
                               "(NAKed)"), Send(NAK)]

    def _on_eot(self) -> list[Event]:
        frames = self._frames
        self.in_session = False
        self._reset_session()
        if not frames:
            return [Discarded(EOT, "EOT: empty session")]
        if not frames[-1][1]:
            raw = b"".join(r for _, _, r in frames)
            return [DecodeError(raw, f"ASTM: message ends inside a record (last of {len(frames)} "
                                     "frame(s) ended with ETB)"), Discarded(EOT, "EOT")]
        return interpret(_segments(frames), self.encodings, self.value_keys) + \
            [Discarded(EOT, "EOT")]


def _segments(frames: list[tuple[bytes, bool, bytes]]) -> list[Segment]:
    """Split the joined frame text into records (CR-terminated); each frame's bytes go to the
    record in which its text starts."""
    text = b"".join(t for t, _, _ in frames)
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        end = text.find(b"\r", start)
        end = len(text) if end < 0 else end + 1
        spans.append((start, end))
        start = end
    if not spans:
        return [Segment(b"", b"".join(r for _, _, r in frames))]
    segs = [Segment(text[s:e].rstrip(b"\r"), b"") for s, e in spans]
    offset = 0
    si = 0
    for t, _, raw in frames:
        while si < len(spans) - 1 and offset >= spans[si][1]:
            si += 1
        segs[si].raw += raw
        offset += len(t)
    return segs
