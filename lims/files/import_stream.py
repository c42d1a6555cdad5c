"""A file of readings into the store in a stream: bounded memory, short write transactions.

A 200 000-row import used to hold SQLite's write lock for ~36 s in one transaction (the
instrument listeners waited past their busy timeout) and a 50 MB file took 2.9 GB (issue 18).
Now ``run`` goes over the file twice, never holding more than one chunk of rows:

1. **Validate everything first.** The file is read lazily (``lims.files.table_stream``) in
   chunks of ``CHUNK_ROWS`` readings; each chunk is parsed and checked against the reference
   data and the samples (``lims.intake.pipeline.check_readings``: reads only, no write lock).
   A new sample code used in two chunks with another market, vendor or commodity is caught
   across chunks too. Any bad row → ``ValidationFailed`` with every bad row (up to
   ``MAX_ERRORS``), and nothing is written.
2. **Store in bounded transactions.** The file is read again and each chunk goes through
   ``accept_readings`` (the one way in) in its own transaction, committed before the next, so
   the write lock is held for one chunk at a time (1 000 rows: about 1.5 s at a load average
   of 13 on 2 cores, a fraction of that on a quiet machine) and listeners and people get in
   between. A chunk keeps the readings of one sample together
   (it grows past ``CHUNK_ROWS`` while the sample code stays the same).

All-or-nothing for the user, also when the store stops part-way: a file with any bad row
writes nothing (1), and the chunks of a file of more than one are **staged**
(``lims.files.import_publish``): stored with status ``staged``, counted and shown nowhere,
until the last chunk is in; then one transaction publishes the whole file (real statuses,
re-seals, rollups) and the follow-up (cases, alerts, grades) runs in bounded chunks. What can
still stop a store mid-way (the process killed, the disk full, another writer racing for the
same new sample code) leaves staged rows nobody sees, and ``run`` says so (``Conflict`` naming
the line). Importing the same file again finds them (the import is idempotent by
``ingest_key``), stores the rest and publishes all of it; ``import_publish.discard`` voids them
instead. The start of a multi-chunk store is an audit event (``results.import.begin``)
committed first; its end is the ``results.import`` event. The next import finds a start without
an end and says so: "resuming" for the same file, a note naming the unfinished file otherwise;
and it first completes any follow-up a crash after a publish left undone. One file is imported
by one process at a time (``lims.storage.locks``): on PostgreSQL a second importer of the same
file, from any machine, is refused at once naming the file, instead of racing the first for its
rows; on SQLite the one writer interleaves their chunks and the second finds the first's rows.

Publishing is O(rows) under one write transaction (re-seal and recount), but without the
judging, gating and follow-up of the store: a fraction of what one transaction for the whole
file held (docs/performance.md has the figures); listeners wait for it with their journal and
back-off (``lims.listening``), they do not fail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from lims.errors import Conflict, LimsError, RowError, ValidationFailed
from lims.files import import_publish
from lims.files.results_import import ImportReport, Progress, iter_readings
from lims.files.table_stream import stream_table
from lims.files.tabular import FileFormatError
from lims.intake.pipeline import accept_readings, check_readings
from lims.intake.readings import IngestReport, ReadingIn
from lims.models import AuditEvent
from lims.reference.lookup import RefCache
from lims.security import audit
from lims.security.auth import Actor, require
from lims.storage import locks
from lims.timeutil import local_tz, now

#: readings per chunk: one write transaction each (see the module docstring for its length)
CHUNK_ROWS = 1000
#: bad rows listed at most (the rest are counted): memory stays bounded for any file
MAX_ERRORS = 10_000
BEGIN, END = "results.import.begin", "results.import"
#: how far back an import that stopped part-way is looked for
LOOK_BACK = timedelta(days=30)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def chunks(readings: Iterable[ReadingIn], size: int) -> Iterator[list[ReadingIn]]:
    """Readings in lists of ``size``; a list grows on (up to 4 × ``size``) while the next
    reading names the same sample, so one sample's readings are stored together."""
    chunk: list[ReadingIn] = []
    for r in readings:
        if len(chunk) >= size and (len(chunk) >= 4 * size or r.sample_code is None
                                   or r.sample_code != chunk[-1].sample_code):
            yield chunk
            chunk = []
        chunk.append(r)
    if chunk:
        yield chunk


def _unfinished(session: Session) -> AuditEvent | None:
    """The newest ``results.import.begin`` of the last ``LOOK_BACK`` without a later
    ``results.import`` of its file (read through the index on ``at``: the audit trail may be
    long)."""
    ev = AuditEvent.__table__.c
    rows = session.execute(sa.select(ev.id, ev.action, ev.entity_id, ev.new, ev.at)
                           .where(ev.at >= now() - LOOK_BACK, ev.action.in_((BEGIN, END)))
                           .order_by(ev.id.desc()).limit(100)).all()
    done: set[str] = set()
    for r in rows:
        sha = (r.new or {}).get("sha256", "")
        if r.action == END:
            done.add(sha)
        elif sha not in done:
            return r
    return None


class _Tally:
    """What the chunks stored, added up (the per-reading detail is not kept)."""

    def __init__(self) -> None:
        self.rows = self.created = self.duplicates = self.held = self.mismatches = 0
        self.unbound = 0
        self.case_ids: set[int] = set()   # (a case or alert is counted once, not per reading)
        self.alert_ids: set[int] = set()
        self.verdicts: dict[str, int] = {}

    def add(self, n: int, report: IngestReport) -> None:
        self.rows += n
        self.duplicates += report.duplicates
        self.unbound += report.unbound
        for st in report.stored:
            if st.duplicate or st.unbound_id is not None:
                continue
            self.created += 1
            key = st.verdict.outcome.value
            self.verdicts[key] = self.verdicts.get(key, 0) + 1
            self.held += st.status == "held"
            self.mismatches += bool(st.mismatch)
            if st.case_id:
                self.case_ids.add(st.case_id)
            if st.alert_id:
                self.alert_ids.add(st.alert_id)


def _validate(session: Session, path: Path, tz: ZoneInfo, encoding: str | None, size: int,
              progress: Progress | None) -> tuple[int, int]:
    """Pass 1: (rows, chunks) of a file without a bad row; else ValidationFailed."""
    cache = RefCache.load(session)
    errors: list[RowError] = []
    parse_errors: list[RowError] = []
    groups: dict[str, tuple[tuple, int, int]] = {}   # new code -> (what, row, chunk)
    rows = n_chunks = 0
    table = stream_table(path, encoding)
    for k, chunk in enumerate(chunks(iter_readings(table, name=path.name, errors=parse_errors,
                                                   tz=tz), size)):
        n_chunks, rows = k + 1, rows + len(chunk)
        if progress:
            progress("read", rows)
        bound, bad = check_readings(session=session, readings=chunk, cache=cache)
        errors += bad
        for b in bound:
            if b is None or not b.new_code:
                continue
            what = tuple(x.id if x is not None else None for x in (b.market, b.vendor,
                                                                     b.commodity))
            head = groups.setdefault(b.new_code, (what, b.reading.row or 0, k))
            if head[2] != k and head[0] != what:
                errors.append(RowError(b.reading.row or 0, "sample_code",
                                       f"new sample {b.new_code} has another market/vendor/"
                                       f"commodity on row {head[1]}"))
        if parse_errors:
            errors += parse_errors
            parse_errors.clear()
        if len(errors) > MAX_ERRORS:
            break
        if progress:
            progress("validated", rows)
    errors += parse_errors
    if errors:
        errors.sort(key=lambda e: (e.row if isinstance(e.row, int) else 1 << 30, e.field))
        if len(errors) > MAX_ERRORS:
            errors = errors[:MAX_ERRORS] + [RowError(
                "…", "file", f"more than {MAX_ERRORS} bad rows; the first {MAX_ERRORS} are "
                "listed (the file was not read further)")]
        raise ValidationFailed(errors, path.name)
    if rows == 0:
        raise FileFormatError(f"{path.name}: no data rows below the header")
    return rows, n_chunks


def run(*, session: Session, actor: Actor, path: Path, tz: ZoneInfo | None = None,
        encoding: str | None = None, chunk_rows: int | None = None,
        progress: Progress | None = None) -> ImportReport:
    """See the module docstring. The caller commits the last chunk (a file of one chunk is
    stored in the caller's transaction, as before)."""
    require(actor, "results.import")
    tz = tz or local_tz()
    sha = file_sha256(path) if path.is_file() else ""
    # one importer of a file at a time (PostgreSQL: any process or machine; SQLite's one
    # writer interleaves two instead): a second one would race the first for its rows
    with locks.exclusive(session.get_bind(), f"import:{sha}") as mine:
        if not mine:
            raise Conflict(f"{path.name} is being imported by another process now (the same "
                           f"file, SHA-256 {sha[:12]}…); wait for it to finish: importing it "
                           "again afterwards adds nothing twice")
        return _run(session, actor, path, tz, encoding, chunk_rows or CHUNK_ROWS, sha,
                    progress)


def _run(session: Session, actor: Actor, path: Path, tz: ZoneInfo, encoding: str | None,
         size: int, sha: str, progress: Progress | None) -> ImportReport:
    """``run`` under the file's import lock."""
    rows, n_chunks = _validate(session, path, tz, encoding, size, progress)
    notes: list[str] = []
    left = import_publish.follow_up_published(session=session, actor=actor)
    if left.results:
        notes.append(f"completed the follow-up of {left.results} result(s) an earlier import "
                     "had published")
    earlier = _unfinished(session)
    if earlier is not None:
        e_sha = (earlier.new or {}).get("sha256", "")
        staged = import_publish.staged_count(session, e_sha)
        if e_sha == sha:   # (PostgreSQL: not one still running, which holds the lock)
            notes.append(f"resuming: an earlier import of this file (started {earlier.at}) "
                         f"stopped part-way; the {staged} row(s) it staged are kept and published "
                         "with this one")
        else:
            notes.append(f"an earlier import of {earlier.entity_id} (started {earlier.at}) "
                         f"stopped part-way: its {staged} staged row(s) count nowhere; import "
                         "that file again to complete it, or discard them (`lims results "
                         "import-staged discard`)")
    begun = n_chunks > 1
    stage = sha if begun else None
    if begun:
        audit.record(session=session, actor=actor, action=BEGIN, entity="test_result",
                     entity_id=path.name[:60], new={"sha256": sha, "rows": rows})
        session.commit()
    tally = _Tally()
    extra: list[RowError] = []
    table = stream_table(path, encoding)
    for chunk in chunks(iter_readings(table, name=path.name, errors=extra, tz=tz), size):
        try:
            report = accept_readings(session=session, actor=actor, readings=chunk, tz=tz,
                                     stage=stage)
        except LimsError as exc:
            if not begun:
                raise
            session.rollback()
            raise Conflict(
                f"{path.name}: storing stopped at line {chunk[0].row} ({exc}); the "
                f"{tally.rows} row(s) before it are staged and count nowhere. Import the file "
                "again to complete it (the rows already staged are kept), or discard them "
                "(`lims results import-staged discard`)") from exc
        tally.add(len(chunk), report)
        if begun:
            session.commit()   # the write lock is released between chunks
        if progress:
            progress("stored", tally.rows)
    if begun:
        import_publish.publish(session=session, actor=actor, import_sha=sha, name=path.name,
                               progress=progress)
        session.commit()
        done = import_publish.follow_up_published(session=session, actor=actor,
                                                  progress=progress)
    result = ImportReport(
        file=path.name, rows=tally.rows, created=tally.created, duplicates=tally.duplicates,
        held=tally.held, mismatches=tally.mismatches, verdicts=tally.verdicts,
        cases=len(tally.case_ids) + (done.cases if begun else 0),
        alerts=len(tally.alert_ids) + (done.alerts if begun else 0), unbound=tally.unbound, sha256=sha, notes=notes)
    if tally.created or tally.unbound or begun:
        audit.record(session=session, actor=actor, action=END, entity="test_result",
                     entity_id=path.name[:60], new=result.to_dict())
    return result
