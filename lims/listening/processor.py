"""Instrument bytes → journal → decoder → store, from any source; no serial port here.

``Processor.receive(data, send)`` takes bytes however they arrived — read from a serial port
(``lims.listening.port``), a socket, an uploaded capture — and (1) appends them to the raw journal
and fsyncs (``lims.listening.journal``) before anything parses them, (2) feeds the instrument's
decoder (a profile, ASTM or balance decoder from ``instruments``) and hands its replies (ACK/NAK)
to ``send``, journalling them as TX, (3) stores what it decoded — results through ingest, weights,
quarantine (``lims.listening.events.store_event``) — and the journal offset, in one transaction.
The offset points at the first byte the decoder has not yet turned into an event (a journal line
and a skip count), so ``open`` (and ``catch_up``) feeds the journal from there again first:
nothing lost, and with idempotent keys nothing stored twice. ``replay`` re-parses journalled bytes
(after a profile fix) the same way.

A busy or unreachable database never ends a live processor. When storing fails with a database
error (SQLite "database is locked" after its busy timeout, a PostgreSQL connection lost …), the
chunk's bytes are already journalled and answered, and the transaction rolled back with the
offset, so nothing is lost: the processor enters **backlog** mode. It keeps journalling and
answering what arrives (the decoder still runs, for the replies) but stores nothing; every
``receive``/``idle`` checks whether a retry is due (exponential back-off, ``RETRY_FIRST`` doubling
up to ``RETRY_MAX``), probes the database without waiting on its locks and, once it answers,
rebuilds the decoder and catches up from the stored offset through the journal — the same path as
a restart — then carries on live with the caught-up decoder.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from instruments.base import Decoded, DecodeError, Decoder, Event, Send
from lims.errors import LimsError
from lims.listening import journal as jr
from lims.listening.backlog import RETRY_FIRST, BacklogMixin, Tally, make_decoder
from lims.listening.events import InstrumentContext, Outcome, store_event
from lims.listening.quarantine import JournalSpan
from lims.models import ListenerOffset
from lims.reference.lookup import RefCache
from lims.timeutil import now as utcnow

log = logging.getLogger("lims.listener")

#: Where a decoder's replies (ACK/NAK) go: the port's (or socket's) write; None drops them.
SendFn = Callable[[bytes], None]


@dataclass
class _Chunk:
    file: str
    offset: int
    next_offset: int
    fs_start: int        # RX byte position of the chunk's first byte within its file
    g_start: int         # the same on the processor's running counter
    length: int


class Processor(BacklogMixin):
    """One instrument's bytes → journal → decoder → store, tracking journal byte positions.

    Live use: ``open()`` (locks the journal, catches up, marks the start), then ``receive(data,
    send)`` for each chunk and ``idle(send)`` when nothing arrives (decoder timeouts), then
    ``close()`` — or ``with Processor(...) as proc:``. ``replay=True`` processors only re-read the
    journal (``replay()``) and never move the listener's offset.
    """

    def __init__(self, engine: sa.Engine, ctx: InstrumentContext, tz: ZoneInfo, *,
                 journal_root: Path | None = None, decoder: Decoder | None = None,
                 replay: bool = False,
                 on_store: Callable[[list[Outcome]], None] | None = None):
        self.engine, self.ctx, self.tz = engine, ctx, tz
        self.journal_root = Path(journal_root) if journal_root is not None else None
        self.decoder = decoder if decoder is not None else make_decoder(ctx)
        self.replay = replay
        self.on_store = on_store   # called after each received chunk's commit (latency, tests)
        self.tally = Tally()
        self.journal: jr.Journal | None = None
        self._chunks: deque[_Chunk] = deque()
        self._fed = 0                     # running counter of bytes fed
        self._accounted = 0               # … of bytes returned in events
        self._fs: dict[str, int] = {}     # file → RX bytes seen in it
        self._last_rx: float | None = None
        self.shift = 0.0                  # decoder clock = wall clock − shift (restarts pause it)
        self._cache: RefCache | None = None
        self._last_raw: bytes | None = None
        self._last_span = JournalSpan("?", 0, 0)
        self._own_decoder = decoder is None   # rebuilt from the profile when catching up
        self.backlog = False              # a store failed: journal and answer only, retry later
        self.retry_delay = RETRY_FIRST
        self._retry_at = 0.0              # time.monotonic() of the next attempt
        self.db_failures = 0              # store attempts that failed with a database error

    @classmethod
    def for_instrument(cls, engine: sa.Engine, serial_no: str, tz: ZoneInfo, *,
                       journal_root: Path, profile_dirs: tuple[Path, ...] = (),
                       on_store: Callable[[list[Outcome]], None] | None = None) -> Processor:
        """A processor for a configured instrument (NotFound when the serial is unknown)."""
        with Session(engine) as s:
            ctx = InstrumentContext.load(s, serial_no, profile_dirs)
        return cls(engine, ctx, tz, journal_root=journal_root, on_store=on_store)

    # -- live: bytes in ----------------------------------------------------------------------
    def open(self) -> int:
        """Lock the journal, feed what it holds beyond the stored offset, mark a (re)start.

        Returns the number of chunks caught up."""
        if self.journal_root is None:
            raise LimsError("this processor has no journal directory")
        self.journal = jr.Journal(self.journal_root, self.ctx.serial)
        try:
            try:
                n = self.catch_up()
            except sa.exc.SQLAlchemyError as exc:
                n = 0
                self._database_failed(exc)     # journal now, store when the database answers
                self._reset_positions()
                if self._own_decoder:
                    self.decoder = make_decoder(self.ctx)
            start = self.journal.append("START", b"")
            self.on_start_marker(start.at.timestamp())
        except BaseException:
            self.close()
            raise
        return n

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
            self.journal = None

    def __enter__(self) -> Processor:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def receive(self, data: bytes, send: SendFn | None = None) -> list[Outcome]:
        """Journal ``data`` (fsync'd), decode it, send the replies, store; the outcomes."""
        if self.journal is None:
            raise LimsError("the processor is not open (call open() first)")
        if not data:
            return []
        entry = self.journal.append("RX", data)          # durable before any ACK
        self.tally.chunks += 1
        if self.backlog:
            self._send(self._feed_live(entry), send)      # answer; the catch-up stores it
            return self._retry_if_due()
        events = self.feed(entry)
        self._send(events, send)
        outcomes = self._store_live(events, entry.at)
        if self.on_store is not None and outcomes:
            self.on_store(outcomes)
        return outcomes

    def idle(self, send: SendFn | None = None, wall: float | None = None) -> list[Outcome]:
        """Nothing arrived: let the decoder's timeouts fire (retries, partial messages); in
        backlog mode, retry storing when the back-off allows."""
        events = self.poll(time.time() if wall is None else wall)
        if self.backlog:
            self._send(events, send)
            return self._retry_if_due()
        if not events:
            return []
        self._send(events, send)
        return self._store_live(events, datetime.now(UTC))

    # -- a busy database: back-off, then catch up from the journal ---------------------------
    def _store_live(self, events: list[Event], received_at: datetime) -> list[Outcome]:
        try:
            return self.store(events, received_at)
        except sa.exc.SQLAlchemyError as exc:
            self._database_failed(exc)
            return []

    def _feed_live(self, entry: jr.Entry) -> list[Event]:
        """Backlog mode: feed the decoder for its replies only (positions are rebuilt later)."""
        wall = entry.at.timestamp()
        events = self.decoder.poll(self.clock(wall)) if self._last_rx is not None else []
        events += self.decoder.feed(entry.data, self.clock(wall))
        self._last_rx = wall
        return events

    def _reset_positions(self) -> None:
        """Forget what was fed: the next catch-up starts from the stored offset."""
        self._chunks.clear()
        self._fed = self._accounted = 0
        self._fs = {}
        self._last_raw = None
        self._last_span = JournalSpan("?", 0, 0)
        self._last_rx = None
        self.shift = 0.0

    def _send(self, events: list[Event], send: SendFn | None) -> None:
        for ev in events:
            if isinstance(ev, Send) and send is not None:
                send(ev.data)
                if self.journal is not None:
                    self.journal.append("TX", ev.data, sync=False)

    def catch_up(self) -> int:
        """Feed journalled bytes not yet processed (a crash between journal and store)."""
        assert self.journal_root is not None
        with Session(self.engine) as s:
            off = s.get(ListenerOffset, self.ctx.serial)
        file, line_offset, skip = self.start_at(off)
        n = 0
        for entry in jr.read(self.journal_root, self.ctx.serial, start_file=file,
                             start_offset=line_offset):
            if entry.kind == "START":
                self.on_start_marker(entry.at.timestamp())
            elif entry.kind == "RX":
                first = skip if (entry.file, entry.offset) == (file, line_offset) else 0
                self.store(self.feed(entry, first), entry.at)
                n += 1
        if n:
            log.info("%s: caught up %d journalled chunk(s) not processed before the restart",
                     self.ctx.serial, n)
        return n

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
        """Store decoded events and the journal offset in one transaction (the tally counts
        them once it committed); a database error propagates (``receive`` turns it into
        backlog mode)."""
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
                    raise                      # database trouble: rolled back, caught up later
                except Exception as exc:       # a bug must not lose the bytes: quarantine them
                    log.exception("%s: cannot store an event", self.ctx.serial)
                    o = store_event(session=session, ctx=self.ctx, cache=self._cache,
                                    event=DecodeError(raw, f"internal error while storing: {exc!r}"),
                                    span=span, received_at=received_at, tz=self.tz)
                if o.kind == "quarantined" and "unknown" in o.detail:
                    reload_cache = True        # reference data may have changed
                outcomes.append(o)
            if not self.replay:
                self._save_offset(session)
            session.commit()
        for o in outcomes:
            self.tally.add(o)
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
    proc = Processor(engine, ctx, tz, replay=True)
    for entry in jr.read(journal_root, ctx.serial, since=since):
        if entry.kind == "START":
            proc.on_start_marker(entry.at.timestamp())
        elif entry.kind == "RX":
            proc.store(proc.feed(entry), entry.at)
            proc.tally.chunks += 1
    return proc.tally
