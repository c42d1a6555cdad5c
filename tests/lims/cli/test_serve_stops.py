"""`lims serve` stops Streamlit when it is stopped (issue 13): a real `lims serve` on a free port,
SIGTERM to `lims serve` alone (not its process group), then the Streamlit child must be gone and
the port free. Also: the app is started without developer chrome (toolbarMode minimal)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import psutil

from lims.cli.serve_cmd import streamlit_command

ROOT = Path(__file__).resolve().parents[3]
LIMS = Path(sys.executable).parent / "lims"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_sigterm_to_lims_serve_stops_streamlit_and_frees_the_port(env_db, tmp_path):
    port = _free_port()
    cmd = ([str(LIMS)] if LIMS.exists() else [sys.executable, "-m", "lims.cli"]) + [
        "serve", "--headless", "--port", str(port)]
    log = (tmp_path / "serve.log").open("wb")
    # its own session only so that the clean-up below can reach every process it started
    proc = subprocess.Popen(cmd, env=os.environ.copy(), cwd=tmp_path, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not _healthy(port):
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "lims serve did not start"
            time.sleep(0.5)
        children = psutil.Process(proc.pid).children(recursive=True)
        streamlit = [c for c in children if "streamlit" in " ".join(c.cmdline())]
        assert streamlit, [c.cmdline() for c in children]

        os.kill(proc.pid, signal.SIGTERM)      # `lims serve` only, as a service manager does
        assert proc.wait(timeout=30) == 0
        gone, alive = psutil.wait_procs(streamlit, timeout=5)
        assert not alive, [c.pid for c in alive]
        deadline = time.monotonic() + 10
        while not _port_free(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _port_free(port) and not _healthy(port)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        else:   # anything of its group still there (a failed test): do not leave it running
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


def test_no_developer_chrome():
    cmd = streamlit_command(8501)
    assert cmd[cmd.index("--client.toolbarMode") + 1] in ("minimal", "viewer")
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] in ("minimal", "viewer")
