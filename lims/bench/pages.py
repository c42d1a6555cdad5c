"""`lims bench --pages`: how long a person waits for each page of the app (issue 17).

The bench database is served by a real ``lims serve`` (headless, its own port); headless Chromium
(Playwright; Debian's package, ``LIMS_CHROMIUM``) logs in as an administrator and clicks every
page of the navigation in turn, ``repeat`` times. A page's time runs from the click to the
end of the last script run the click caused (Streamlit's ``script_finished`` message on the
websocket, with no frame for ``QUIET`` seconds after it; the quiet tail is not counted). The
figures are p50 and max per page, and the bytes the page received (plotly figures and tables,
the usual suspects).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.bench.cpu import process_tree
from lims.errors import ConfigError, LimsError
from lims.models import User
from lims.security import users
from lims.security.auth import SYSTEM
from lims.timeutil import local_tz

QUIET = 0.75          # seconds without a running script that count as "settled"
POLL = 0.05
USERNAME = "bench.admin"


@dataclass
class PageTiming:
    title: str
    seconds: list[float] = field(default_factory=list)
    plot_bytes: int = 0
    server_peak_mb: float = 0.0   # the app server's peak RSS over the whole run
    errors: int = 0               # exception boxes or error alerts the page showed

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    def to_dict(self) -> dict:
        return {"page": self.title, "p50_s": round(self.p50, 3),
                "max_s": round(max(self.seconds), 3), "runs": len(self.seconds),
                "plot_bytes": self.plot_bytes, "server_peak_mb": round(self.server_peak_mb),
                "errors": self.errors}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bench_admin(engine: sa.Engine) -> str:
    """A fresh password for the bench's administrator (created on first use)."""
    password = "Bench-" + secrets.token_urlsafe(12)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == USERNAME)).first()
        if user is not None:
            users.set_password(session=s, actor=SYSTEM, username=USERNAME, password=password)
        else:
            users.add_user(session=s, actor=SYSTEM, username=USERNAME, role="admin",
                           password=password)
        s.commit()
    return password


def _serve(url: str, var_dir: Path, clock: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    lims = Path(sys.executable).parent / "lims"
    cmd = ([str(lims)] if lims.exists() else [sys.executable, "-m", "lims.cli"]) + [
        "serve", "--headless", "--port", str(port)]
    env = os.environ | {"LIMS_DATABASE_URL": url, "LIMS_VAR_DIR": str(var_dir),
                        "LIMS_CLOCK": clock, "LIMS_LANG": "zh"}
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise LimsError(f"lims serve did not start (log: {log})")
        time.sleep(0.3)


def server_peak_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of the app server: the largest of its process tree."""
    peak = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
    return peak / 1024


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


#: ``ForwardMsg.script_finished``: its field number and the statuses of a run that ended
#: (FINISHED_SUCCESSFULLY, FINISHED_WITH_COMPILE_ERROR; not FINISHED_EARLY_FOR_RERUN nor a
#: fragment's run). Read from the wire here: ``lims`` does not import streamlit (layering)
SCRIPT_FINISHED, RUN_ENDED = 6, (0, 1)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def script_finished(payload: bytes) -> int | None:
    """The ``script_finished`` status of a Streamlit ``ForwardMsg`` (protobuf wire format, top
    level only), None when the message is something else or not a ForwardMsg."""
    i = 0
    try:
        while i < len(payload):
            key, i = _varint(payload, i)
            field_no, wire = key >> 3, key & 7
            if wire == 0:
                value, i = _varint(payload, i)
                if field_no == SCRIPT_FINISHED:
                    return value
            elif wire == 2:
                size, i = _varint(payload, i)
                i += size
            elif wire in (1, 5):
                i += 8 if wire == 1 else 4
            else:
                return None
    except IndexError:
        return None
    return None


class Frames:
    """What the app server sent over its websocket: bytes, the time of the last frame, and the
    times its script runs ended (``script_finished``: a run that completed, or stopped with
    ``st.stop()``)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.last = 0.0
        self.finished: list[float] = []

    def __call__(self, payload) -> None:
        t = time.monotonic()
        self.bytes += len(payload or b"")
        self.last = t
        if isinstance(payload, bytes | bytearray) and \
                script_finished(bytes(payload)) in RUN_ENDED:
            self.finished.append(t)


def _quiet(page, frames: Frames) -> None:
    """Wait until the server has sent nothing for QUIET seconds."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and time.monotonic() - frames.last < QUIET:
        page.wait_for_timeout(POLL * 1000)   # (Playwright delivers frames while it waits)


def _settle(page, frames: Frames, since: float) -> float:
    """Seconds from ``since`` (the click) to the end of the last script run it caused: a
    finished run after ``since`` with no frame for QUIET seconds after it (a rerun the page
    asked for, e.g. ``st.switch_page``, is waited for too). Before, the end was read from
    Streamlit's status widget, which this version does not show while a script runs: a page
    whose query ran for minutes counted as settled in 0.2 s."""
    deadline = since + 600
    while time.monotonic() < deadline:
        done = [t for t in frames.finished if t > since]
        now_ = time.monotonic()
        if done and now_ - max(done[-1], frames.last) >= QUIET:
            return done[-1] - since
        page.wait_for_timeout(POLL * 1000)   # (Playwright delivers frames while it waits)
    raise LimsError("a page did not finish within 10 minutes")


def time_pages(*, url: str, var_dir: Path, data_end, repeat: int = 3,
               chromium: str | None = None,
               progress: Callable[[str, int, int], None] | None = None) -> list[PageTiming]:
    """Click every page of the app ``repeat`` times on the database at ``url``."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ConfigError("lims bench --pages needs Playwright: pip install -e '.[dev]'") from None
    chromium = chromium or os.environ.get("LIMS_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        raise ConfigError(f"LIMS_CHROMIUM: no browser at {chromium} (apt-get install chromium)")
    engine = sa.create_engine(url)
    password = _bench_admin(engine)
    engine.dispose()
    var_dir.mkdir(parents=True, exist_ok=True)
    clock = datetime.combine(data_end, dtime(18, 0), tzinfo=local_tz()).isoformat()
    proc, base = _serve(url, var_dir, clock, var_dir / "bench-pages-serve.log")
    timings: dict[str, PageTiming] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            page.set_default_timeout(600_000)
            frames = Frames()
            page.on("websocket", lambda ws: ws.on("framereceived", frames))
            page.goto(base)
            side = page.locator('[data-testid="stSidebar"]')
            side.get_by_label("用户名").wait_for()
            _quiet(page, frames)
            side.get_by_label("用户名").fill(USERNAME)
            side.get_by_label("密码").fill(password)
            t_login = time.monotonic()
            side.get_by_label("密码").press("Enter")
            side.get_by_text("已登录").wait_for()
            _settle(page, frames, t_login)
            links = page.locator('[data-testid="stSidebarNavLink"]')
            titles = [links.nth(i).inner_text().strip().splitlines()[-1].strip()
                      for i in range(links.count())]   # (the first lines are the icon's name)
            total = len(titles) * repeat
            done = 0
            for _ in range(repeat):
                for i, title in enumerate(titles):
                    b0, t0 = frames.bytes, time.monotonic()
                    links.nth(i).click()
                    seconds = _settle(page, frames, t0)
                    tm = timings.setdefault(title, PageTiming(title))
                    tm.seconds.append(seconds)
                    # a page that failed is fast: say so (an exception box or an error alert)
                    tm.errors = max(tm.errors, page.locator(
                        '[data-testid="stException"], [data-testid="stAlertContentError"]'
                    ).count())
                    tm.plot_bytes = max(tm.plot_bytes, frames.bytes - b0)
                    done += 1
                    if progress:
                        progress("pages", done, total)
            browser.close()
        peak = server_peak_mb(proc.pid)
        for tm in timings.values():
            tm.server_peak_mb = peak
    finally:
        _stop(proc)
    return list(timings.values())


def markdown(timings: list[PageTiming], results: int, backend: str) -> str:
    load = os.getloadavg()[0]
    peak = max((tm.server_peak_mb for tm in timings), default=0.0)
    lines = [f"Pages at {results:,} results on {backend} (load {load:.2f}, "
             f"{os.cpu_count()} cores): click → settled; app server peak RSS {peak:.0f} MB", "",
             "| page | p50 s | max s | websocket bytes | errors shown |",
             "|---|---:|---:|---:|---:|"]
    for tm in sorted(timings, key=lambda x: -x.p50):
        lines.append(f"| {tm.title} | {tm.p50:.2f} | {max(tm.seconds):.2f} | "
                     f"{tm.plot_bytes:,} | {tm.errors or ''} |")
    return "\n".join(lines) + "\n"

