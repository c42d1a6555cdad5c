"""`lims bench --pages` reports the app server's peak memory (issue 17: under 500 MB): the
largest VmHWM of the server's process tree, children included."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from lims.bench.cpu import process_tree
from lims.bench.pages import PageTiming, markdown, server_peak_mb


def test_the_peak_covers_a_child_that_grew():
    code = "b = bytearray(120 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); input()"
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while server_peak_mb(child.pid) < 120 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid in process_tree(child.pid)
        assert child.pid in process_tree(os.getpid())            # found as a descendant
        assert server_peak_mb(os.getpid()) >= 120          # the tree's largest, the child's
    finally:
        child.communicate(b"\n", timeout=30)
    tm = PageTiming("p", [0.5, 0.7], 1000, server_peak_mb=321.4)
    assert "app server peak RSS 321 MB" in markdown([tm], 10, "sqlite")


def test_the_end_of_a_run_is_read_from_the_wire():
    """`script_finished` reads Streamlit's ForwardMsg without importing streamlit in lims."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from lims.bench.pages import RUN_ENDED, Frames, script_finished

    done, rerun, other = ForwardMsg(), ForwardMsg(), ForwardMsg()
    done.hash, done.script_finished = "h1", ForwardMsg.FINISHED_SUCCESSFULLY
    rerun.script_finished = ForwardMsg.FINISHED_EARLY_FOR_RERUN
    other.page_info_changed.query_string = "page=board"
    assert script_finished(done.SerializeToString()) == 0 in RUN_ENDED
    assert script_finished(rerun.SerializeToString()) not in RUN_ENDED
    assert script_finished(other.SerializeToString()) is None
    assert script_finished(b"\xff\xff") is None
    frames = Frames()
    for msg in (other, rerun, done):
        frames(msg.SerializeToString())
    assert len(frames.finished) == 1 and frames.bytes > 0
