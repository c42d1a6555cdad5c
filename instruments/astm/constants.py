"""ASTM E1381 control bytes and timing constants (E1381-02 / CLSI LIS01-A2)."""

from __future__ import annotations

STX = b"\x02"
ETX = b"\x03"
EOT = b"\x04"
ENQ = b"\x05"
ACK = b"\x06"
NAK = b"\x15"
ETB = b"\x17"
CR = b"\r"
LF = b"\n"

#: control bytes that may never appear inside frame text
FORBIDDEN_IN_TEXT = frozenset(b"\x02\x03\x04\x05\x06\x0a\x15\x17")

FN_MODULO = 8                 # frame numbers 1..7, 0, 1 … (E1381 §6.3.1.2)
MAX_FRAME_TEXT = 240          # characters of text per frame (E1381-02; LIS01-A2 allows 63 993)
MAX_FRAME_BYTES = 64_000      # a longer run without LF is not a frame

SENDER_REPLY_TIMEOUT = 15.0   # sender waits at most this for ACK/NAK (E1381 §6.5.2)
RECEIVER_TIMEOUT = 30.0       # receiver discards an incomplete message after this silence
BUSY_RETRY_WAIT = 10.0        # sender waits at least this after a NAK to its ENQ
CONTENTION_WAIT_COMPUTER = 20.0  # the computer waits this after contention (the instrument wins)
CONTENTION_WAIT_INSTRUMENT = 1.0  # the instrument re-sends ENQ after this
MAX_FRAME_FAILURES = 6        # a frame rejected this many times → the sender gives up with EOT
