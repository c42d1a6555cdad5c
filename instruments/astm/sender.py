"""ASTM E1381 sender: a sans-I/O state machine for the side that has a message to send.

``send(records)`` queues a message (record texts, each ending in CR); ``poll(now)`` returns the
bytes to write now; ``receive(data, now)`` takes the peer's replies. It sends ENQ and waits at most
``reply_timeout`` (15 s) for the answer; a NAK to ENQ (receiver busy) → wait ``busy_wait`` (10 s)
and retry; an ENQ from the peer while waiting (contention) → the instrument re-sends ENQ after 1 s,
the computer backs off ``contention_wait`` (20 s) and lets the instrument send. Each frame is sent
until ACKed; a NAK (or any other reply) → the same frame again; after ``max_failures`` (6)
rejections, or a reply timeout, the sender gives up with EOT and the message is reported failed.
Records longer than ``max_text`` (240) bytes go out as ETB frames followed by an ETX frame.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from instruments.astm.codec import encode_frames
from instruments.astm.constants import (
    ACK,
    BUSY_RETRY_WAIT,
    CONTENTION_WAIT_COMPUTER,
    CONTENTION_WAIT_INSTRUMENT,
    ENQ,
    EOT,
    MAX_FRAME_FAILURES,
    MAX_FRAME_TEXT,
    NAK,
    SENDER_REPLY_TIMEOUT,
)


class SenderState(Enum):
    IDLE = "idle"
    WAIT_ENQ_REPLY = "wait_enq_reply"
    SEND_FRAME = "send_frame"
    WAIT_FRAME_REPLY = "wait_frame_reply"


@dataclass
class SendResult:
    ok: bool
    frames: int
    why: str = ""


@dataclass
class _Message:
    frames: list[bytes]
    enq_attempts: int = 0
    index: int = 0
    failures: int = 0


class AstmSender:
    """One side's outgoing message queue. ``role`` is "instrument" or "computer" (contention)."""

    def __init__(self, *, role: str = "instrument", max_text: int = MAX_FRAME_TEXT,
                 reply_timeout: float = SENDER_REPLY_TIMEOUT, busy_wait: float = BUSY_RETRY_WAIT,
                 contention_wait: float | None = None, max_failures: int = MAX_FRAME_FAILURES,
                 max_enq_attempts: int = 6) -> None:
        if role not in ("instrument", "computer"):
            raise ValueError(f"role must be 'instrument' or 'computer', not {role!r}")
        self.role = role
        self.max_text = max_text
        self.reply_timeout = reply_timeout
        self.busy_wait = busy_wait
        self.contention_wait = contention_wait if contention_wait is not None else (
            CONTENTION_WAIT_INSTRUMENT if role == "instrument" else CONTENTION_WAIT_COMPUTER)
        self.max_failures = max_failures
        self.max_enq_attempts = max_enq_attempts
        self.state = SenderState.IDLE
        self.results: list[SendResult] = []
        self.replies: list[bytes] = []       # every reply byte received, in order (for tests/logs)
        self.peer_wants_to_send = False      # computer role: contention seen, receive first
        self._queue: deque[_Message] = deque()
        self._deadline = 0.0
        self._not_before = 0.0
        self._out = bytearray()              # bytes decided in receive(), written at next poll

    # -- public --------------------------------------------------------------------------------
    def send(self, records: list[bytes] | list[str], encoding: str = "utf-8") -> None:
        recs = [r.encode(encoding) if isinstance(r, str) else r for r in records]
        recs = [r if r.endswith(b"\r") else r + b"\r" for r in recs]
        self._queue.append(_Message(encode_frames(recs, max_text=self.max_text)))

    @property
    def busy(self) -> bool:
        """A message is queued or being sent, or bytes (EOT) are still to be written."""
        return bool(self._queue) or bool(self._out)

    @property
    def current_frame(self) -> bytes | None:
        if not self._queue or self.state not in (SenderState.SEND_FRAME,
                                                 SenderState.WAIT_FRAME_REPLY):
            return None
        m = self._queue[0]
        return m.frames[m.index] if m.index < len(m.frames) else None

    @property
    def frame_index(self) -> int:
        """Index (0-based) of the frame being sent = frames of the current message ACKed."""
        return self._queue[0].index if self._queue else 0

    @property
    def frame_failures(self) -> int:
        """How many times the current frame has been rejected so far."""
        return self._queue[0].failures if self._queue else 0

    def poll(self, now: float) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        st = self.state
        if st is SenderState.IDLE:
            if self._queue and now >= self._not_before:
                self._queue[0].enq_attempts += 1
                self.state = SenderState.WAIT_ENQ_REPLY
                self._deadline = now + self.reply_timeout
                return out + ENQ
            return out
        if st is SenderState.SEND_FRAME:
            self.state = SenderState.WAIT_FRAME_REPLY
            self._deadline = now + self.reply_timeout
            return out + (self.current_frame or b"")
        if now >= self._deadline:
            if st is SenderState.WAIT_ENQ_REPLY:
                self._enq_failed(now, "no reply to ENQ")
            else:
                self._give_up(now, f"no reply within {self.reply_timeout:g} s")
            out += bytes(self._out)
            self._out.clear()
        return out

    def receive(self, data: bytes, now: float) -> None:
        for b in data:
            reply = bytes([b])
            self.replies.append(reply)
            self._on_reply(reply, now)

    # -- internals -------------------------------------------------------------------------------
    def _on_reply(self, reply: bytes, now: float) -> None:
        st = self.state
        if st is SenderState.WAIT_ENQ_REPLY:
            if reply == ACK:
                m = self._queue[0]
                m.index, m.failures = 0, 0
                self.state = SenderState.SEND_FRAME
            elif reply == NAK:
                self.state = SenderState.IDLE
                self._not_before = now + self.busy_wait
                if self._queue[0].enq_attempts >= self.max_enq_attempts:
                    self._finish(SendResult(False, 0, "ENQ refused (NAK) "
                                            f"{self.max_enq_attempts} times"))
            elif reply == ENQ:            # contention
                self.state = SenderState.IDLE
                self._not_before = now + self.contention_wait
                if self.role == "computer":
                    self.peer_wants_to_send = True
            return
        if st is SenderState.WAIT_FRAME_REPLY:
            m = self._queue[0]
            if reply in (ACK, EOT):       # EOT = ACK + "please stop soon"; honoured at message end
                m.index += 1
                m.failures = 0
                if m.index >= len(m.frames):
                    self._finish(SendResult(True, len(m.frames)))
                    self.state = SenderState.IDLE
                    self._out += EOT
                else:
                    self.state = SenderState.SEND_FRAME
            else:                          # NAK or anything else: retransmit, up to max_failures
                m.failures += 1
                if m.failures >= self.max_failures:
                    self._give_up(now, f"frame {m.index + 1} rejected {m.failures} times")
                else:
                    self.state = SenderState.SEND_FRAME
        # replies while idle or about to send are ignored

    def _finish(self, result: SendResult) -> None:
        self._queue.popleft()
        self.results.append(result)

    def _enq_failed(self, now: float, why: str) -> None:
        m = self._queue[0]
        self.state = SenderState.IDLE
        self._not_before = now + self.busy_wait
        self._out += EOT
        if m.enq_attempts >= self.max_enq_attempts:
            self._finish(SendResult(False, 0, f"{why} after {m.enq_attempts} ENQ attempts"))

    def _give_up(self, now: float, why: str) -> None:
        m = self._queue[0]
        self._finish(SendResult(False, m.index, why))
        self.state = SenderState.IDLE
        self._not_before = now + self.busy_wait
        self._out += EOT
