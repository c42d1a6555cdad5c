"""Codec throughput per registered driver, and frame → committed row latency over a pty.

Codecs: each driver's simulator talks to its decoder in memory (replies such as ACK go back to
the simulator) and the instrument's bytes are recorded; that transcript is then fed to a fresh
decoder in 256-byte chunks and timed. The line rate is the driver's default port settings
(start bit + data bits + parity + stop bits per character).

The codec figure is wall-clock time, so it falls when other processes share the cores; the CPU
time of the decoding thread is measured beside it (``codec_rates``) and is what the code costs.

Latency: a writer thread puts one message at a time on the master side of ``os.openpty()``; the
listening side reads the slave with pyserial, feeds the registry's decoder, turns each decoded
reading into a ReadingIn and stores it through ``ingest`` with a commit. The time from the
message's last byte written to the commit returning is the latency. The first messages after the
listener starts (reference data loaded, caches cold) are sent as a warm-up and reported apart;
beside the figures go the load average during the run, the listener thread's CPU time per
message and the chunks (``receive`` calls: journal fsync + transaction each) per message, which
say what the latency is made of (docs/performance.md).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from instruments import registry
from instruments.base import AnalyzerReading, Decoded, PortSettings, Send, message_id

PROFILE_DIR = Path(registry.__file__).resolve().parent / "profiles" / "data"


def line_rate(p: PortSettings) -> float:
    """Characters per second on the line = bytes/s."""
    bits = 1 + p.bytesize + (0 if p.parity == "N" else 1) + p.stopbits
    return p.baudrate / bits


def codec_targets() -> list[tuple[str, str, str | None]]:
    """(label, driver, profile) for every registered driver; the profile driver per profile."""
    out = []
    for name in registry.names():
        if name == "profile":
            for f in sorted(PROFILE_DIR.glob("*.toml")):
                out.append((f"profile:{f.stem}", name, f.stem))
        else:
            out.append((name, name, None))
    return out


def transcript(driver: str, profile: str | None, messages: int) -> tuple[bytes, int]:
    """The instrument's bytes for ``messages`` messages, and how many readings they decode to."""
    spec = registry.get(driver)
    if spec.make_simulator is None:
        raise ValueError(f"driver {driver} has no simulator")
    sim = spec.make_simulator(profile, count=messages, interval=0.001, seed=3)
    dec = spec.make_decoder(profile)
    data = bytearray()
    readings = 0
    now = 0.0
    deadline = 10 * messages + 60.0
    while not sim.done and now < deadline:
        out = sim.poll(now)
        events = dec.feed(out, now) if out else dec.poll(now)
        data += out
        for ev in events:
            if isinstance(ev, Send):
                sim.receive(ev.data, now)
            elif isinstance(ev, Decoded):
                readings += 1
        now += 0.002
    return bytes(data), readings


def codec_throughput(driver: str, profile: str | None, data: bytes, repeat: int,
                     chunk: int = 256) -> list[float]:
    """Bytes per second decoding ``data`` (wall clock), one figure per repetition."""
    return codec_rates(driver, profile, data, repeat, chunk)[0]


def codec_rates(driver: str, profile: str | None, data: bytes, repeat: int,
                chunk: int = 256) -> tuple[list[float], list[float]]:
    """Bytes per second decoding ``data``, one figure per repetition: by the wall clock, and by
    the thread's CPU time (what the decoder costs, whatever else runs on the machine)."""
    spec = registry.get(driver)
    wall, cpu = [], []
    for _ in range(repeat):
        dec = spec.make_decoder(profile)
        now = 0.0
        t, c = time.perf_counter(), time.thread_time()
        for i in range(0, len(data), chunk):
            dec.feed(data[i:i + chunk], now)
            now += 0.001
        c = time.thread_time() - c
        wall.append(len(data) / (time.perf_counter() - t))
        cpu.append(len(data) / c if c > 0 else float("inf"))
    return wall, cpu


def port_defaults(driver: str, profile: str | None) -> PortSettings:
    spec = registry.get(driver)
    if driver == "profile" and profile:
        try:
            from instruments.profiles import load_profile

            prof = load_profile(profile)
            port = getattr(prof, "port", None)
            if isinstance(port, PortSettings):
                return port
            if isinstance(port, dict):
                return spec.defaults.with_overrides(port)
        except (ImportError, ValueError, TypeError):
            pass
    return spec.defaults


# ------------------------------------------------------------------------------- pty latency

@dataclass
class LatencyResult:
    latencies: list[float]
    path: str            # what was measured
    details: str = ""    # warm-up, load, CPU per message, chunks per message


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _median(xs: list[float]) -> float:
    ys = sorted(xs)
    return ys[len(ys) // 2] if ys else float("nan")


def _messages(n: int) -> list[bytes]:
    """``n`` distinct enzyme-12ch messages from the profile simulator."""
    spec = registry.get("profile")
    sim = spec.make_simulator("enzyme-12ch", count=n, interval=0.001, seed=11)
    out: list[bytes] = []
    now = 0.0
    while not sim.done:
        b = sim.poll(now)
        if b:
            out.append(b)
        now += 0.002
    return out


def pty_latency(engine: sa.Engine, n: int, *, market: str, gap: float = 0.02) -> LatencyResult:
    """Frame on a pty → decoder → ingest → commit, ``n`` messages one at a time."""
    import serial

    from lims.intake.pipeline import ReadingIn, accept_readings
    from lims.reference.lookup import RefCache
    from lims.security.auth import SYSTEM
    from lims.timeutil import local_tz, now

    tz = local_tz()
    msgs = _messages(n)
    master, slave = os.openpty()
    port = serial.Serial(os.ttyname(slave), baudrate=9600, timeout=0.5)
    dec = registry.get("profile").make_decoder("enzyme-12ch")
    written: list[float] = []
    committed: list[float] = []
    done = threading.Event()
    errors: list[BaseException] = []
    with Session(engine) as s:
        cache = RefCache.load(s)
        commodity = s.connection().execute(sa.text("SELECT name_zh FROM commodity")).scalar()

    def listen() -> None:
        try:
            while len(committed) < len(msgs) and not done.is_set():
                data = port.read(max(1, port.in_waiting))
                if not data:
                    continue
                for ev in dec.feed(data, time.monotonic()):
                    if not isinstance(ev, Decoded) or not isinstance(ev.reading, AnalyzerReading):
                        continue
                    r = ev.reading
                    # the instrument's own time is local (naive); none: the app clock
                    at = r.tested_at.replace(tzinfo=tz) if r.tested_at else now()
                    reading = ReadingIn(
                        method="ENZ-5009.199", raw=dict(r.values), tested_at=at, market=market,
                        commodity=commodity, instrument_verdict=r.verdict,
                        ingest_key=message_id(r.raw, f"bench-pty-{time.time_ns()}"),
                        channel=r.channel, source="listener")
                    with Session(engine) as s:
                        accept_readings(session=s, actor=SYSTEM, readings=[reading], cache=cache)
                        s.commit()
                    committed.append(time.perf_counter())
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    try:
        for m in msgs:
            before = len(committed)
            os.write(master, m)
            written.append(time.perf_counter())
            deadline = time.monotonic() + 10
            while len(committed) == before and time.monotonic() < deadline and not errors:
                time.sleep(0.0002)
            time.sleep(gap)
    finally:
        done.set()
        th.join(timeout=5)
        port.close()
        os.close(master)
        os.close(slave)
    if errors:
        raise errors[0]
    lat = [c - w for w, c in zip(written, committed, strict=False)]
    return LatencyResult(lat, "pty → profile decoder (enzyme-12ch) → ingest → commit "
                              "(bench's own minimal path)")


def _bench_instrument(engine: sa.Engine, serial_no: str, market: str) -> None:
    """A profile-driven analyzer at ``market`` with a passing verification (idempotent)."""
    from datetime import UTC, date, datetime

    from lims.models import CalibrationRecord, Instrument, Market, Method

    with Session(engine) as s:
        if s.exec(sa.select(Instrument.id).where(Instrument.serial_no == serial_no)).first():
            return
        m = s.exec(sa.select(Market.id).where(Market.code == market)).scalar_one()
        me = s.exec(sa.select(Method.id).where(Method.code == "ENZ-5009.199")).scalar_one()
        inst = Instrument(serial_no=serial_no, model="KJ12", kind="pesticide_analyzer",
                          driver="profile", profile="enzyme-12ch", market_id=m, method_id=me)
        s.add(inst)
        s.flush()
        s.add(CalibrationRecord(instrument_id=inst.id, kind="verification",
                                performed_at=datetime(2020, 1, 1, tzinfo=UTC),
                                performed_by="bench", outcome="pass", due_date=date(2099, 1, 1)))
        s.commit()


def listener_latency(engine: sa.Engine, n: int, *, market: str, gap: float = 0.02,
                     journal_root: Path | None = None, warmup: int = 3) -> LatencyResult:
    """Frame on a pty → the real ``lims listen`` service (journal fsync, decoder, ACK, ingest,
    offset, commit) → its on_store hook; ``n`` messages one at a time after ``warmup`` ones
    (not counted: the first message after a start loads the reference data)."""
    import tempfile

    from lims.listening.port import Listener
    from lims.timeutil import local_tz

    serial_no = "BENCH-PTY"
    _bench_instrument(engine, serial_no, market)
    spec = registry.get("profile")
    sim = spec.make_simulator("enzyme-12ch", count=n + warmup, interval=0.001, serial=serial_no,
                              seed=time.time_ns() % 10**6)
    msgs: list[bytes] = []
    now = 0.0
    while not sim.done:
        b = sim.poll(now)
        if b:
            msgs.append(b)
        now += 0.002
    master, slave = os.openpty()
    # (wall time, the listener thread's CPU time, outcomes), taken in the listener's thread
    stored: list[tuple[float, float, list]] = []
    tmp = tempfile.TemporaryDirectory() if journal_root is None else None
    root = Path(tmp.name) if tmp else journal_root
    listener = Listener(engine=engine, serial_no=serial_no, port=os.ttyname(slave),
                        journal_root=root, tz=local_tz(),
                        on_store=lambda outcomes: stored.append(
                            (time.perf_counter(), time.thread_time(), outcomes)))
    th = threading.Thread(target=listener.run, daemon=True)
    th.start()
    lat: list[float] = []
    cold: list[float] = []
    cpu: list[float] = []
    kinds: dict[str, int] = {}
    chunks0 = loads = 0.0
    load0 = _load()
    try:
        if not listener.connected.wait(20):
            raise RuntimeError("the listener did not open the pty")
        for i, m in enumerate(msgs):
            if i == warmup:
                chunks0, load0 = listener.proc.tally.chunks, _load()
            before = len(stored)
            t = time.perf_counter()
            os.write(master, m)
            deadline = time.monotonic() + 10
            while len(stored) == before and time.monotonic() < deadline and th.is_alive():
                time.sleep(0.0002)
            if len(stored) > before:
                at, cpu_at, outcomes = stored[before]
                if i >= warmup:
                    for o in outcomes:
                        kinds[o.kind] = kinds.get(o.kind, 0) + 1
                    if before and i > warmup:
                        cpu.append(cpu_at - stored[before - 1][1])
                if any(o.kind == "result" for o in outcomes):
                    (lat if i >= warmup else cold).append(at - t)
            time.sleep(gap)
        loads = _load()
    finally:
        listener.stop.set()
        th.join(timeout=10)
        os.close(master)
        os.close(slave)
        if tmp:
            tmp.cleanup()
    chunks = (listener.proc.tally.chunks - chunks0) / max(1, len(msgs) - warmup)
    details = (f"load average {load0:.1f} → {loads:.1f}; listener CPU {_median(cpu) * 1000:.1f} "
               f"ms per message (median), {chunks:.1f} chunks (journal fsync + transaction "
               f"each) per message; warm-up {len(cold)} message(s), the first "
               f"{cold[0] * 1000 if cold else float('nan'):.0f} ms")
    return LatencyResult(lat, "pty → lims listen service (journal fsync, profile decoder "
                              f"enzyme-12ch, ingest, commit); outcomes {kinds}", details)

