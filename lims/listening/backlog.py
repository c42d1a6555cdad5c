"""What a processor does while the database is busy or away: back off, probe without waiting on
its locks, then catch up from the journal (``BacklogMixin``, mixed into
``lims.listening.processor.Processor``); and the small pieces both share (``Tally``,
``make_decoder``)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa

from instruments import registry
from instruments.base import Decoder
from lims.listening.events import InstrumentContext, Outcome

log = logging.getLogger("lims.listener")

#: back-off between attempts to store again after a database error (seconds)
RETRY_FIRST = 0.1
RETRY_MAX = 5.0


def make_decoder(ctx: InstrumentContext) -> Decoder:
    spec = registry.get(ctx.driver)
    if ctx.driver == "profile":
        return spec.make_decoder(profile=ctx.profile_path)
    return spec.make_decoder()



@dataclass
class Tally:
    results: int = 0
    duplicates: int = 0
    weights: int = 0
    quarantined: int = 0
    chunks: int = 0
    unbound: int = 0

    def add(self, o: Outcome) -> None:
        if o.kind == "result":
            self.results += 1
        elif o.kind == "duplicate":
            self.duplicates += 1
        elif o.kind == "weight":
            self.weights += 1
        elif o.kind == "quarantined":
            self.quarantined += 1
        elif o.kind == "unbound":
            self.unbound += 1



class BacklogMixin:
    """Backlog mode of a processor (see the processor's module docstring)."""

    def _database_failed(self, exc: BaseException) -> None:
        self.db_failures += 1
        if not self.backlog:
            log.warning("%s: cannot store (%s); the bytes are journalled, storing again with "
                        "back-off from %.1f s to %.1f s", self.ctx.serial,
                        str(exc).splitlines()[0], RETRY_FIRST, RETRY_MAX)
            self.backlog = True
            self.retry_delay = RETRY_FIRST
        else:
            self.retry_delay = min(self.retry_delay * 2, RETRY_MAX)
            log.debug("%s: storing still fails (%s); next attempt in %.1f s", self.ctx.serial,
                      str(exc).splitlines()[0], self.retry_delay)
        self._retry_at = time.monotonic() + self.retry_delay

    def _database_ready(self) -> bool:
        """Can a writer start now? Asked without waiting on the database's locks."""
        with self.engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                conn.execute(sa.text("SELECT 1"))
                return True
            raw = conn.connection.driver_connection
            old = raw.execute("PRAGMA busy_timeout").fetchone()[0]
            raw.execute("PRAGMA busy_timeout = 0")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
                return True
            except sa.exc.OperationalError:
                return False
            finally:
                raw.execute(f"PRAGMA busy_timeout = {int(old)}")

    def _retry_if_due(self) -> list[Outcome]:
        if time.monotonic() < self._retry_at:
            return []
        try:
            if not self._database_ready():
                self._database_failed(sa.exc.OperationalError("probe", None,
                                                              Exception("database is locked")))
                return []
        except sa.exc.SQLAlchemyError as exc:
            self._database_failed(exc)
            return []
        live = (self.decoder, self._last_rx, self.shift)
        tally = self.tally
        self.tally = Tally(chunks=tally.chunks)
        self._reset_positions()
        if self._own_decoder:
            self.decoder = make_decoder(self.ctx)
        try:
            n = self.catch_up()
        except sa.exc.SQLAlchemyError as exc:
            # part of it may be stored (with its offset): the next attempt starts from there
            self._add_tally(tally, self.tally)
            self.decoder, self._last_rx, self.shift = live
            self._database_failed(exc)
            return []
        self._add_tally(tally, self.tally)
        self.backlog = False
        self.retry_delay = RETRY_FIRST
        log.info("%s: the database answers again; %d journalled chunk(s) stored",
                 self.ctx.serial, n)
        return []

    def _add_tally(self, base: Tally, extra: Tally) -> None:
        self.tally = Tally(results=base.results + extra.results,
                           duplicates=base.duplicates + extra.duplicates,
                           weights=base.weights + extra.weights,
                           quarantined=base.quarantined + extra.quarantined,
                           unbound=base.unbound + extra.unbound,
                           chunks=base.chunks)

