"""`lims serve` as a real process for the browser tests: started on a free port with the
database at ``url`` and the app clock pinned, waited for, and stopped (SIGTERM to `lims serve`,
which stops its Streamlit child; anything left is killed)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import PINNED_CLOCK

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def lims_serve(workdir: Path, url: str, cwd: Path = ROOT) -> Iterator[str]:
    """Serve the app on ``url`` (LIMS_VAR_DIR under ``workdir``); yields the base URL."""
    port = free_port()
    lims = Path(sys.executable).parent / "lims"
    cmd = ([str(lims)] if lims.exists() else [sys.executable, "-m", "lims.cli"]) + [
        "serve", "--headless", "--port", str(port)]
    env = os.environ | {"LIMS_DATABASE_URL": url, "LIMS_VAR_DIR": str(workdir / "var"),
                        "LIMS_LANG": "zh", "LIMS_CLOCK": PINNED_CLOCK}
    log_path = workdir / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("lims serve did not start:\n" +
                                   log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield base
    finally:
        os.kill(proc.pid, signal.SIGTERM)   # `lims serve` stops its Streamlit child itself
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # anything left (a failure): not left running
        except ProcessLookupError:
            pass
        log.close()
