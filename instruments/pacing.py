"""Pace a simulator's output like a real serial line: at most one byte per ``byte_time`` s."""

from __future__ import annotations


class Pacer:
    """``pace(out, now)`` queues ``out`` and returns the bytes the line could carry by ``now``.
    With ``byte_time`` 0 everything goes out at once."""

    def __init__(self, byte_time: float = 0.0) -> None:
        if byte_time < 0:
            raise ValueError("byte_time must be ≥ 0")
        self.byte_time = byte_time
        self._buf = bytearray()
        self._since: float | None = None

    @property
    def pending(self) -> bool:
        return bool(self._buf)

    def pace(self, out: bytes, now: float) -> bytes:
        if not self.byte_time:
            return out
        self._buf += out
        if not self._buf:
            self._since = None
            return b""
        if self._since is None:
            self._since = now
        n = int((now - self._since) / self.byte_time)
        if n <= 0:
            return b""
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        self._since = None if not self._buf else self._since + n * self.byte_time
        return chunk
