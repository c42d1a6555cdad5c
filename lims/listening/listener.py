"""The serial listener: port → journal → decoder → store, resuming exactly after a crash.

For each chunk read from the port: (1) append it to the raw journal and fsync, (2) feed the
decoder and write its replies (ACK/NAK) back, (3) store what it decoded — results through ingest,
weights, quarantine — and the journal offset, in one transaction. The offset points at the first
byte the decoder has not yet turned into an event (a chunk line and a skip count), so a restart
feeds the journal from there again before it listens: nothing lost, and with idempotent keys
nothing stored twice. ``replay`` re-parses journalled bytes (after a profile fix) the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import serial
import sqlalchemy as sa
from sqlmodel import Session

from instruments import registry
from instruments.base import Decoded, DecodeError, Decoder, Event, PortSettings, Send
from lims.listening import journal as jr
from lims.listening.events import InstrumentContext, Outcome, store_event
from lims.listening.quarantine import JournalSpan
from lims.models import ListenerOffset
from lims.reference.lookup import RefCache
from lims.timeutil import now as utcnow

log = logging.getLogger("lims.listener")


def make_decoder(ctx: InstrumentContext) -> Decoder:
    spec = registry.get(ctx.driver)
    if ctx.driver == "profile":
        return spec.make_decoder(profile=ctx.profile_path)
    return spec.make_decoder()


def port_settings(ctx: InstrumentContext, overrides: dict[str, Any] | None) -> PortSettings:
    """The driver's (or profile's) documented defaults, overridden by the instrument's settings."""
    if ctx.driver == "profile":
        from instruments.profiles import load_profile

        base = load_profile(ctx.profile_path or "").port_settings()
    else:
        base = registry.get(ctx.driver).defaults
    return base.with_overrides(overrides)


@dataclass
class _Chunk:
    file: str
    offset: int
    next_offset: int
    fs_start: int        # RX byte position of the chunk's first byte within its file
    g_start: int         # the same on the processor's running counter
    length: int


@dataclass
class Tally:
    results: int = 0
    duplicates: int = 0
    weights: int = 0
    quarantined: int = 0
    chunks: int = 0

    def add(self, o: Outcome) -> None:
        if o.kind == "result":
            self.results += 1
        elif o.kind == "duplicate":
            self.duplicates += 1
        elif o.kind == "weight":
            self.weights += 1
        elif o.kind == "quarantined":
            self.quarantined += 1


@dataclass
class Processor:
    """Feeds journal entries to a decoder and stores its events, tracking byte positions."""

    engine: sa.Engine
    ctx: InstrumentContext
    decoder: Decoder
    tz: ZoneInfo
    replay: bool = False                  # replays do not move the listener's offset
    tally: Tally = field(default_factory=Tally)

    def __post_init__(self) -> None:
        self._chunks: deque[_Chunk] = deque()
        self._fed = 0                     # running counter of bytes fed
        self._accounted = 0               # … of bytes returned in events
        self._fs: dict[str, int] = {}     # file → RX bytes seen in it
        self._last_rx: float | None = None
        self.shift = 0.0                  # decoder clock = wall clock − shift (restarts pause it)
        self._cache: RefCache | None = None
        self._last_raw: bytes | None = None
        self._last_span = JournalSpan("?", 0, 0)

    # -- positions ---------------------------------------------------------------------------
    def start_at(self, off: ListenerOffset | None) -> tuple[str | None, int, int]:
        """Prepare to feed from a stored offset; returns (file, line offset, skip)."""
        if off is None:
            return None, 0, 0
        self._fs[off.journal_file] = off.stream_pos
        self._fed = self._accounted = -off.skip      # the skipped bytes count as accounted
        return off.journal_file, off.line_offset, off.skip

    def clock(self, wall: float) -> float:
        return wall - self.shift

    def on_start_marker(self, at: float) -> None:
        if self._last_rx is not None and at > self._last_rx:
            self.shift += at - self._last_rx
            self._last_rx = at

    def feed(self, entry: jr.Entry, skip: int = 0) -> list[Event]:
        """Feed an RX entry (its first ``skip`` bytes were processed before a restart)."""
        fs = self._fs.get(entry.file, 0)
        if skip:
            self._fed += skip
            self._accounted = max(self._accounted, self._fed)
        self._chunks.append(_Chunk(entry.file, entry.offset, entry.next_offset, fs,
                                   self._fed - skip, len(entry.data)))
        self._fs[entry.file] = fs + len(entry.data)
        self._fed += len(entry.data) - skip
        wall = entry.at.timestamp()
        events = self.decoder.poll(self.clock(wall)) if self._last_rx is not None else []
        events += self.decoder.feed(entry.data[skip:], self.clock(wall))
        self._last_rx = wall
        return events

    def poll(self, wall: float) -> list[Event]:
        return self.decoder.poll(self.clock(wall))

    def _span_of(self, length: int) -> JournalSpan:
        """The journal span of the next ``length`` unaccounted bytes (and account them)."""
        start, end = self._accounted, min(self._accounted + length, self._fed)
        self._accounted = end
        last = end - 1 if end > start else start
        for c in self._chunks:
            if c.g_start <= last < c.g_start + c.length:
                file_end = c.fs_start + (end - c.g_start)
                return JournalSpan(c.file, file_end - (end - start), file_end)
        c = self._chunks[-1] if self._chunks else None
        return JournalSpan(c.file if c else "?", 0, 0)

    def resume_point(self) -> tuple[str, int, int, int] | None:
        """(file, line offset, skip, RX position of that line) of the first unprocessed byte."""
        while self._chunks and self._chunks[0].g_start + self._chunks[0].length <= self._accounted:
            done = self._chunks.popleft()
            if not self._chunks:
                return done.file, done.next_offset, 0, done.fs_start + done.length
        if not self._chunks:
            return None
        c = self._chunks[0]
        return c.file, c.offset, max(0, self._accounted - c.g_start), c.fs_start

    # -- storing -----------------------------------------------------------------------------
    def store(self, events: list[Event], received_at: datetime) -> list[Outcome]:
        outcomes: list[Outcome] = []
        reload_cache = False
        with Session(self.engine, expire_on_commit=False) as session:
            if self._cache is None:
                self._cache = RefCache.load(session)
            for ev in events:
                if isinstance(ev, Send):
                    continue
                raw = ev.reading.raw if isinstance(ev, Decoded) else ev.raw
                if isinstance(ev, Decoded) and raw is self._last_raw:
                    length = 0                 # several readings from one message
                else:
                    length = len(raw)
                self._last_raw = raw if isinstance(ev, Decoded) else None
                span = self._span_of(length) if length else self._last_span
                self._last_span = span
                try:
                    o = store_event(session=session, ctx=self.ctx, cache=self._cache, event=ev,
                                    span=span, received_at=received_at, tz=self.tz,
                                    replay=self.replay)
                except sa.exc.SQLAlchemyError:
                    raise                      # database trouble: stop; a restart catches up
                except Exception as exc:       # a bug must not lose the bytes: quarantine them
                    log.exception("%s: cannot store an event", self.ctx.serial)
                    o = store_event(session=session, ctx=self.ctx, cache=self._cache,
                                    event=DecodeError(raw, f"internal error while storing: {exc!r}"),
                                    span=span, received_at=received_at, tz=self.tz)
                if o.kind == "quarantined" and "unknown" in o.detail:
                    reload_cache = True        # reference data may have changed
                self.tally.add(o)
                outcomes.append(o)
            if not self.replay:
                self._save_offset(session)
            session.commit()
        if reload_cache:
            self._cache = None                 # reloaded on the next store
        return outcomes

    def _save_offset(self, session: Session) -> None:
        point = self.resume_point()
        if point is None:
            return
        file, line_offset, skip, stream_pos = point
        off = session.get(ListenerOffset, self.ctx.serial)
        if off is None:
            off = ListenerOffset(instrument_serial=self.ctx.serial, journal_file=file)
        off.journal_file, off.line_offset, off.skip, off.stream_pos = (file, line_offset, skip,
                                                                       stream_pos)
        off.updated_at = utcnow()
        session.add(off)


def replay(*, engine: sa.Engine, ctx: InstrumentContext, journal_root: Path, tz: ZoneInfo,
           since: date | None = None) -> Tally:
    """Re-parse an instrument's journal with today's driver/profile; idempotent.

    Readings already stored are recognised by their keys; bytes that were quarantined and now
    decode are stored and their quarantine items marked resolved.
    """
    proc = Processor(engine, ctx, make_decoder(ctx), tz, replay=True)
    for entry in jr.read(journal_root, ctx.serial, since=since):
        if entry.kind == "START":
            proc.on_start_marker(entry.at.timestamp())
        elif entry.kind == "RX":
            proc.store(proc.feed(entry), entry.at)
            proc.tally.chunks += 1
    return proc.tally


class Listener:
    """``lims listen``: one instrument on one port, until ``stop`` is set."""

    def __init__(self, *, engine: sa.Engine, serial_no: str, port: str, journal_root: Path,
                 tz: ZoneInfo, profile_dirs: tuple[Path, ...] = (),
                 stop: threading.Event | None = None, reconnect_delay: float = 1.0,
                 on_store: Callable[[list[Outcome]], None] | None = None):
        self.engine, self.port_url, self.tz = engine, port, tz
        self.journal_root = Path(journal_root)
        self.stop = stop or threading.Event()
        self.reconnect_delay = reconnect_delay
        with Session(engine) as s:
            self.ctx = InstrumentContext.load(s, serial_no, profile_dirs)
            from lims.models import Instrument

            inst = s.get(Instrument, self.ctx.id)
            overrides = dict(inst.port_settings or {}) if inst else {}
        self.settings = port_settings(self.ctx, overrides)
        self.proc = Processor(engine, self.ctx, make_decoder(self.ctx), tz)
        self.on_store = on_store   # called after each commit (latency measurements, tests)
        self.journal: jr.Journal | None = None
        self.connected = threading.Event()

    # -- catch-up ----------------------------------------------------------------------------
    def catch_up(self) -> int:
        """Feed journalled bytes not yet processed (a crash between journal and store)."""
        with Session(self.engine) as s:
            off = s.get(ListenerOffset, self.ctx.serial)
        file, line_offset, skip = self.proc.start_at(off)
        n = 0
        for entry in jr.read(self.journal_root, self.ctx.serial, start_file=file,
                             start_offset=line_offset):
            if entry.kind == "START":
                self.proc.on_start_marker(entry.at.timestamp())
            elif entry.kind == "RX":
                first = skip if (entry.file, entry.offset) == (file, line_offset) else 0
                self.proc.store(self.proc.feed(entry, first), entry.at)
                n += 1
        if n:
            log.info("%s: caught up %d journalled chunk(s) not processed before the restart",
                     self.ctx.serial, n)
        return n

    # -- the port ----------------------------------------------------------------------------
    def _open(self) -> serial.SerialBase | None:
        warned = False
        while not self.stop.is_set():
            try:
                port = serial.serial_for_url(self.port_url, timeout=0.05,
                                             **self.settings.serial_kwargs())
                log.info("%s: port %s open (%s %s%s%s)", self.ctx.serial, self.port_url,
                         self.settings.baudrate, self.settings.bytesize, self.settings.parity,
                         self.settings.stopbits)
                return port
            except (serial.SerialException, OSError, ValueError) as exc:
                if not warned:
                    log.warning("%s: cannot open port %s (%s); retrying every %.1f s",
                                self.ctx.serial, self.port_url, exc, self.reconnect_delay)
                    warned = True
                self.stop.wait(self.reconnect_delay)
        return None

    def _on_rx(self, port: serial.SerialBase, data: bytes) -> None:
        assert self.journal is not None
        entry = self.journal.append("RX", data)          # durable before any ACK
        events = self.proc.feed(entry)
        self._send(port, events)
        outcomes = self.proc.store(events, entry.at)
        self.proc.tally.chunks += 1
        if self.on_store is not None and outcomes:
            self.on_store(outcomes)

    def _send(self, port: serial.SerialBase, events: list[Event]) -> None:
        assert self.journal is not None
        for ev in events:
            if isinstance(ev, Send):
                port.write(ev.data)
                port.flush()
                self.journal.append("TX", ev.data, sync=False)

    def _pump(self, port: serial.SerialBase) -> None:
        self.connected.set()
        while not self.stop.is_set():
            data = port.read(max(1, port.in_waiting))
            if data:
                self._on_rx(port, data)
            else:
                events = self.proc.poll(time.time())
                if events:
                    self._send(port, events)
                    self.proc.store(events, datetime.now(UTC))

    def run(self) -> Tally:
        self.journal = jr.Journal(self.journal_root, self.ctx.serial)
        try:
            self.catch_up()
            start = self.journal.append("START", b"")
            self.proc.on_start_marker(start.at.timestamp())
            log.info("%s: listening on %s (driver %s%s); journal %s", self.ctx.serial,
                     self.port_url, self.ctx.driver,
                     f", profile {self.ctx.profile}" if self.ctx.profile else "",
                     self.journal.dir)
            while not self.stop.is_set():
                port = self._open()
                if port is None:
                    break
                try:
                    self._pump(port)
                except (serial.SerialException, OSError) as exc:
                    log.warning("%s: port %s lost (%s); reconnecting", self.ctx.serial,
                                self.port_url, exc)
                finally:
                    self.connected.clear()
                    try:
                        port.close()
                    except (serial.SerialException, OSError):
                        pass
                if not self.stop.is_set():
                    self.stop.wait(self.reconnect_delay)
        finally:
            self.journal.close()
        return self.proc.tally
