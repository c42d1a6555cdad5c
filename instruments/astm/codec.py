"""ASTM E1381 frames as pure functions on bytes: checksum, encode, decode, split.

A frame is ``STX FN text ETB|ETX C1 C2 CR LF``; the checksum is the sum of the bytes from FN
through ETB/ETX inclusive, modulo 256, as two uppercase hex characters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from instruments.astm.constants import (
    CR,
    ETB,
    ETX,
    FN_MODULO,
    FORBIDDEN_IN_TEXT,
    LF,
    MAX_FRAME_TEXT,
    STX,
)


class AstmError(ValueError):
    """Base of all ASTM codec errors; the message names what is wrong and where."""


class FrameError(AstmError):
    """The bytes are not a well-formed E1381 frame."""


class ChecksumError(FrameError):
    """The frame is well formed but its checksum does not match its content."""


class RecordError(AstmError):
    """An E1394 record (or the message it belongs to) is malformed."""


@dataclass(frozen=True)
class Frame:
    fn: int            # frame number 0..7
    text: bytes        # the frame's text (records end in CR)
    final: bool        # True: ends with ETX (last frame of a record/message); False: ETB


def checksum(body: bytes) -> bytes:
    """Checksum of ``FN … ETB|ETX`` as two uppercase hex ASCII characters."""
    return b"%02X" % (sum(body) % 256)


def encode_frame(fn: int, text: bytes, *, final: bool = True) -> bytes:
    """Build one frame. Raises FrameError for a bad frame number or forbidden bytes in ``text``."""
    if not 0 <= fn < FN_MODULO:
        raise FrameError(f"frame number {fn} is outside 0..7")
    bad = sorted({b for b in text if b in FORBIDDEN_IN_TEXT})
    if bad:
        raise FrameError(f"frame text contains control byte(s) {[hex(b) for b in bad]}")
    body = str(fn).encode("ascii") + text + (ETX if final else ETB)
    return STX + body + checksum(body) + CR + LF


def decode_frame(frame: bytes) -> Frame:
    """Parse one complete frame (STX … CR LF). Raises FrameError or ChecksumError."""
    if len(frame) < 7:
        raise FrameError(f"frame of {len(frame)} bytes is shorter than the minimum of 7")
    if frame[:1] != STX:
        raise FrameError(f"frame starts with {frame[:1]!r}, not STX")
    if frame[-2:] != CR + LF:
        raise FrameError(f"frame ends with {frame[-2:]!r}, not CR LF")
    term = frame[-5:-4]
    if term not in (ETX, ETB):
        raise FrameError(f"byte {len(frame) - 5} is {term!r}, not ETX or ETB")
    fn_byte = frame[1:2]
    if fn_byte not in b"01234567" or not fn_byte:
        raise FrameError(f"frame number {fn_byte!r} is not a digit 0..7")
    body = frame[1:-4]
    got = frame[-4:-2]
    want = checksum(body)
    if got.upper() != want:
        raise ChecksumError(f"frame {fn_byte.decode()}: checksum {got!r} should be {want!r}")
    text = frame[2:-5]
    bad = sorted({b for b in text if b in FORBIDDEN_IN_TEXT})
    if bad:
        raise FrameError(f"frame {fn_byte.decode()}: text contains control byte(s) "
                         f"{[hex(b) for b in bad]}")
    return Frame(fn=int(fn_byte), text=text, final=term == ETX)


def split_text(text: bytes, max_text: int = MAX_FRAME_TEXT) -> list[tuple[bytes, bool]]:
    """Split one record's text into (chunk, final) pieces of at most ``max_text`` bytes."""
    if max_text < 1:
        raise ValueError("max_text must be at least 1")
    if not text:
        return [(b"", True)]
    chunks = [text[i:i + max_text] for i in range(0, len(text), max_text)]
    return [(c, i == len(chunks) - 1) for i, c in enumerate(chunks)]


def encode_frames(records: Iterable[bytes], *, start_fn: int = 1,
                  max_text: int = MAX_FRAME_TEXT) -> list[bytes]:
    """Frames for a message: each record (ending in CR) in one ETX frame, or ETB frames + ETX
    when longer than ``max_text``. Frame numbers start at ``start_fn`` and wrap 7 → 0."""
    frames: list[bytes] = []
    fn = start_fn % FN_MODULO
    for rec in records:
        for chunk, final in split_text(rec, max_text):
            frames.append(encode_frame(fn, chunk, final=final))
            fn = (fn + 1) % FN_MODULO
    return frames
