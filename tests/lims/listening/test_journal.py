"""The raw journal: line format, torn lines, one writer per instrument."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from lims.errors import LimsError
from lims.listening import journal as jr


def test_entries_round_trip_and_torn_lines_are_skipped(tmp_path):
    at = datetime(2026, 11, 25, 8, 15, 2, 123456, tzinfo=UTC)
    j = jr.Journal(tmp_path, "RP12/001")           # an odd serial gets a safe directory name
    e1 = j.append("RX", b"CH01,\xd0\xa1\r\n", at=at)
    j.append("TX", b"\x06", at=at, sync=False)
    j.close()
    path = tmp_path / "RP12_001" / "20261125.jnl"
    line = path.read_bytes().splitlines()[0].decode()
    payload = base64.b64encode(b"CH01,\xd0\xa1\r\n").decode()
    assert line == f"2026-11-25T08:15:02.123456+00:00 RX RP12/001 9 {payload}"
    with open(path, "ab") as fh:                    # a crash in the middle of a write
        fh.write(b"2026-11-25T08:15:03+00:00 RX RP12/001 40 Q0gw")
    j = jr.Journal(tmp_path, "RP12/001")
    e3 = j.append("RX", b"next", at=at)
    j.close()
    entries = list(jr.read(tmp_path, "RP12/001"))
    assert [(e.kind, e.data) for e in entries] == [("RX", b"CH01,\xd0\xa1\r\n"), ("TX", b"\x06"),
                                                   ("RX", b"next")]
    assert entries[0].offset == e1.offset == 0 and entries[2].offset == e3.offset
    assert list(jr.read(tmp_path, "RP12/001", start_file="20261125.jnl",
                        start_offset=e3.offset))[0].data == b"next"
    assert jr.serials(tmp_path) == ["RP12/001"]
    assert jr.parse_line(b"2026-11-25T08:15:02+00:00 RX SN 3 QUJD\n")[3] == b"ABC"
    assert jr.parse_line(b"2026-11-25T08:15:02+00:00 RX SN 4 QUJD\n") is None   # count wrong


def test_one_listener_per_instrument(tmp_path):
    j = jr.Journal(tmp_path, "SN-1")
    try:
        with pytest.raises(LimsError, match="another listener is already running"):
            jr.Journal(tmp_path, "SN-1")
    finally:
        j.close()
    jr.Journal(tmp_path, "SN-1").close()
