"""The pure-Python null-modem pair carries every byte value both ways, unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import serial


def _read(port: serial.Serial, n: int, timeout: float = 5.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += port.read(n - len(got))
    return got


def test_bytes_cross_both_ways_unchanged(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    proc = subprocess.Popen([sys.executable, "-m", "instruments.nullmodem", str(a), str(b)])
    try:
        deadline = time.monotonic() + 10
        while not (a.exists() and b.exists()):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        with serial.Serial(os.fspath(a), timeout=0.2) as pa, \
                serial.Serial(os.fspath(b), timeout=0.2) as pb:
            data = bytes(range(256)) * 4
            pa.write(data)
            assert _read(pb, len(data)) == data
            pb.write(b"\x06\x15\x04")           # ACK NAK EOT back to the instrument side
            assert _read(pa, 3) == b"\x06\x15\x04"
    finally:
        proc.terminate()
        proc.wait(10)
    assert not a.exists() and not b.exists()   # links removed on exit
