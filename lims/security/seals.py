"""Tamper-evident results: every stored result's content is sealed into the audit chain.

* A result's **seal** is the SHA-256 of its sealed content (``SEALED``: sample, method, analyte,
  instrument, channel, tested_at, raw values, computed value and unit, verdict, instrument
  verdict, status), kept in ``test_result.seal``.
* Each stored batch appends one ``result.seal`` event: its ids (as runs ``[first, last]``) and a
  digest over the batch's ``id:seal`` lines in id order. No extra round trip per row: the seals
  are computed in Python and go in with the INSERT (``lims.intake.storing``).
* Every later change (correction, void, review, a QC hold, a release …) calls ``reseal`` after
  it changed the rows: one ``result.reseal`` event with ``[id, old seal, new seal]`` for each
  result whose content changed.
* ``verify`` walks the chain (streaming), then streams every result in id order: it recomputes
  the seal from the current row and checks it against the row's seal, the last re-seal and the
  batch digest. An edited value, verdict or status, a forged row (never sealed), a deleted row
  (missing from its batch), an edited seal — each is named. The chain head is checked against
  a witness (``lims.security.chainhead``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from lims.models import AuditEvent, ImportStage, TestResult
from lims.security import audit
from lims.security.auth import SYSTEM, Actor
from lims.security.chainhead import Witness, witness  # noqa: F401  (re-exported for sync)
from lims.storage.bulk import among

#: the content a seal covers, in this order
SEALED = ("sample_id", "method_id", "analyte_id", "instrument_id", "channel", "tested_at", "raw",
          "computed_value", "computed_unit", "verdict", "instrument_verdict", "status")
_T = TestResult.__table__
_CONTENT = [_T.c[n] for n in SEALED]
_I_TESTED, _I_VALUE = SEALED.index("tested_at"), SEALED.index("computed_value")
_I_STATUS = SEALED.index("status")
_S = ImportStage.__table__
SEAL_ACTION, RESEAL_ACTION = "result.seal", "result.reseal"
SEAL_ENTITY = "result_seal"   # not "test_result": a result's own history stays its own
_CHUNK = 500


def content_hash(values: Iterable) -> str:
    """The seal of one result's content (values in ``SEALED`` order)."""
    body = list(values)
    ts = body[_I_TESTED]
    if isinstance(ts, datetime):
        body[_I_TESTED] = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if body[_I_VALUE] is not None:
        body[_I_VALUE] = float(body[_I_VALUE])
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def seal_rows(rows: list[dict]) -> None:
    """Set ``seal`` on new result rows (before their INSERT)."""
    for r in rows:
        r["seal"] = content_hash([r.get(n) for n in SEALED])


def runs(ids: list[int]) -> list[list[int]]:
    """Sorted ids as runs ``[[first, last], …]``."""
    out: list[list[int]] = []
    for i in sorted(ids):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def batch_digest(pairs: Iterable[tuple[int, str]]) -> str:
    h = hashlib.sha256()
    for rid, seal in sorted(pairs):
        h.update(f"{rid}:{seal}\n".encode())
    return h.hexdigest()


def _batch_event(ids: list[int], seals: list[str]) -> dict:
    return {"n": len(ids), "ids": runs(ids),
            "digest": batch_digest(zip(ids, seals, strict=True))}


def record_batch(session: Session, ids: list[int], seals: list[str],
                 actor: Actor = SYSTEM) -> None:
    """Chain the seals of a just-inserted batch: one audit event."""
    if not ids:
        return
    audit.record(session=session, actor=actor, action=SEAL_ACTION, entity=SEAL_ENTITY,
                 entity_id=f"{min(ids)}-{max(ids)}", new=_batch_event(ids, seals))


def reseal(session: Session, actor: Actor, result_ids: Iterable[int], reason: str = "") -> int:
    """Call after changing results: recompute their seals from the rows, store them, and chain
    the changes (one ``result.reseal`` event; none when no content changed). Returns how many
    seals changed."""
    ids = sorted(set(result_ids))
    if not ids:
        return 0
    session.flush()
    conn = session.connection()
    changes: list[list] = []
    for i in range(0, len(ids), _CHUNK):
        rows = conn.execute(sa.select(_T.c.id, _T.c.seal, *_CONTENT)
                            .where(among(conn, _T.c.id, ids[i:i + _CHUNK]))).all()
        # a staged result is sealed with the status it will be published with (as ``verify``)
        staged = [r.id for r in rows if r.status == "staged"]
        waiting = dict(conn.execute(sa.select(_S.c.result_id, _S.c.status).where(
            _S.c.result_id.in_(staged), _S.c.phase == "staged")).all()) if staged else {}
        for row in rows:
            values = list(row[2:])
            if row.id in waiting:
                values[_I_STATUS] = waiting[row.id]
            new = content_hash(values)
            if new != row.seal:
                changes.append([row.id, row.seal, new])
    if not changes:
        return 0
    changes.sort()
    conn.execute(_T.update().where(_T.c.id == sa.bindparam("_id"))
                 .values(seal=sa.bindparam("_seal")),
                 [{"_id": c[0], "_seal": c[2]} for c in changes])
    for c in changes:   # the session's copies: seal as stored (not a pending change)
        obj = session.identity_map.get(session.identity_key(TestResult, c[0]))
        if obj is not None:
            set_committed_value(obj, "seal", c[2])
    first, last = changes[0][0], changes[-1][0]
    audit.record(session=session, actor=actor, action=RESEAL_ACTION, entity=SEAL_ENTITY,
                 entity_id=f"{first}-{last}",   # a range: never a bare result id
                 new={"seals": changes}, reason=reason)
    return len(changes)


def seal_unsealed(conn: sa.Connection, chunk: int = 50_000) -> int:
    """Seal results that have no seal yet (stored before sealing began; the migration runs it):
    one chained ``result.seal`` event per ``chunk`` results. Returns how many."""
    done = 0
    while True:
        rows = conn.execute(sa.select(_T.c.id, *_CONTENT).where(_T.c.seal.is_(None))
                            .order_by(_T.c.id).limit(chunk)).all()
        if not rows:
            return done
        pairs = [(r.id, content_hash(r[1:])) for r in rows]
        conn.execute(_T.update().where(_T.c.id == sa.bindparam("_id"))
                     .values(seal=sa.bindparam("_seal")),
                     [{"_id": i, "_seal": s} for i, s in pairs])
        _append(conn, SEAL_ACTION, f"{pairs[0][0]}-{pairs[-1][0]}",
                _batch_event([p[0] for p in pairs], [p[1] for p in pairs]),
                "sealed when sealing began (results stored before)")
        done += len(rows)


def _append(conn: sa.Connection, action: str, entity_id: str, new: dict, reason: str) -> None:
    """Append one event on a bare connection (the migration has no session)."""
    from lims.timeutil import now

    t = AuditEvent.__table__
    prev = conn.execute(sa.select(t.c.hash).order_by(t.c.id.desc()).limit(1)).scalar()
    ev = AuditEvent(at=now().replace(microsecond=0), actor=SYSTEM.username, action=action,
                    entity=SEAL_ENTITY, entity_id=entity_id, old=None, new=new, reason=reason,
                    prev_hash=prev or audit.GENESIS, hash="")
    ev.hash = audit._digest(ev.prev_hash, ev)
    conn.execute(t.insert(), {c.name: getattr(ev, c.name) for c in t.columns if c.name != "id"})


# ---- verify --------------------------------------------------------------------------------


@dataclass
class SealReport:
    events: int = 0                 # audit events walked
    results: int = 0                # results checked
    head_id: int = 0
    head: str = audit.GENESIS
    problems: list[str] = field(default_factory=list)
    more: int = 0                   # problems found beyond the ones listed
    chain_ok: bool = True           # False: the walk stopped at a broken link (broken_at)
    broken_at: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, text: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(text)
        else:
            self.more += 1

    def to_dict(self) -> dict:
        return {"ok": self.ok, "events": self.events, "results": self.results,
                "head_id": self.head_id, "head": self.head, "problems": self.problems,
                "chain_ok": self.chain_ok, "broken_at": self.broken_at,
                "more_problems": self.more}


class _Batches:
    """The ``result.seal`` events of the chain, as sorted id intervals (no per-row memory)."""

    def __init__(self) -> None:
        self.events: list[int] = []
        self.digests: list[str] = []
        self.counts: list[int] = []
        self.intervals: list[tuple[int, int, int]] = []   # (first, last, batch index)

    def add(self, event_id: int, new: dict) -> None:
        b = len(self.events)
        self.events.append(event_id)
        self.digests.append(new.get("digest", ""))
        self.counts.append(int(new.get("n", 0)))
        self.intervals.extend((int(a), int(z), b) for a, z in new.get("ids", []))


def _walk_chain(conn: sa.Connection, report: SealReport, batches: _Batches,
                resealed: dict[int, list], witness_check: Callable[[int, str], None]) -> bool:
    t = AuditEvent.__table__
    prev = audit.GENESIS
    q = sa.select(t).order_by(t.c.id).execution_options(yield_per=2000)
    for ev in conn.execute(q):
        report.events += 1
        if ev.prev_hash != prev:
            report.add(f"audit event {ev.id}: prev_hash does not match the event before")
            report.chain_ok, report.broken_at = False, ev.id
            return False
        if audit._digest(prev, ev) != ev.hash:
            report.add(f"audit event {ev.id}: content does not match its hash")
            report.chain_ok, report.broken_at = False, ev.id
            return False
        prev = ev.hash
        report.head_id, report.head = ev.id, ev.hash
        witness_check(ev.id, ev.hash)
        if ev.action == SEAL_ACTION and ev.entity == SEAL_ENTITY and ev.new:
            batches.add(ev.id, ev.new)
        elif ev.action == RESEAL_ACTION and ev.new:
            for rid, old, new in ev.new.get("seals", []):
                seen = resealed.get(rid)
                if seen is None:
                    resealed[rid] = [old, new]
                    continue
                if seen[1] != old:
                    report.add(f"audit event {ev.id}: re-seal of result {rid} does not follow "
                               "its previous seal")
                seen[1] = new
    return True


def verify(*, session: Session, witness_check: Callable[[int, str], None] | None = None,
           progress: Callable[[int, int], None] | None = None) -> SealReport:
    """Walk the audit chain, then check every result against its seal in the chain (both
    streamed). ``witness_check(event_id, hash)`` sees every event (the chain-head witness);
    ``progress(done, total)`` is called every 100 000 results."""
    report = SealReport()
    batches = _Batches()
    resealed: dict[int, list] = {}
    # streamed per statement (``yield_per``): ``Connection.execution_options`` would change
    # the session's connection for the rest of its transaction (server-side cursors for every
    # later statement: an UPDATE then fails on PostgreSQL)
    conn = session.connection()
    if not _walk_chain(conn, report, batches, resealed, witness_check or (lambda i, h: None)):
        return report
    intervals = sorted(batches.intervals)
    for a, b in zip(intervals, intervals[1:], strict=False):
        if b[0] <= a[1]:
            report.add(f"results {b[0]}-{min(a[1], b[1])}: sealed by two events "
                       f"({batches.events[a[2]]} and {batches.events[b[2]]})")
    total = session.connection().execute(sa.select(sa.func.count()).select_from(_T)).scalar()
    hashers: dict[int, Any] = {}
    bad_batch: set[int] = set()
    k, expect = 0, intervals[0][0] if intervals else 0

    def missing(first: int, last: int, b: int) -> None:
        if first > last:
            return
        bad_batch.add(b)
        what = f"results {first}-{last}" if first < last else f"result {first}"
        report.add(f"{what}: sealed by audit event {batches.events[b]} but missing (deleted)")

    # a result of an import not published yet is stored "staged" but sealed with the status it
    # will get, which waits in import_stage (lims.intake.staging)
    staged = dict(session.connection().execute(sa.select(_S.c.result_id, _S.c.status)
                                               .where(_S.c.phase == "staged")).all())
    q = (sa.select(_T.c.id, _T.c.seal, *_CONTENT).order_by(_T.c.id)
         .execution_options(yield_per=5000))
    for row in conn.execute(q):
        report.results += 1
        if progress and report.results % 100_000 == 0:
            progress(report.results, total)
        rid = row.id
        values = list(row[2:])
        if values[_I_STATUS] == "staged":
            values[_I_STATUS] = staged.get(rid, "staged (no import_stage row)")
        h = content_hash(values)
        rs = resealed.get(rid)
        while k < len(intervals) and intervals[k][1] < rid:
            missing(expect, intervals[k][1], intervals[k][2])
            k += 1
            expect = intervals[k][0] if k < len(intervals) else 0
        if k >= len(intervals) or intervals[k][0] > rid:
            report.add(f"result {rid}: never sealed in the audit chain (forged, or written "
                       "around the application)")
            continue
        b = intervals[k][2]
        missing(max(expect, intervals[k][0]), rid - 1, b)
        expect = rid + 1
        if row.seal is None or h != row.seal:
            report.add(f"result {rid}: content does not match its seal (edited)")
            bad_batch.add(b)
        elif rs is not None and rs[1] != row.seal:
            report.add(f"result {rid}: seal differs from its last re-seal in the audit chain "
                       "(seal edited)")
            bad_batch.add(b)
        hashers.setdefault(b, hashlib.sha256()).update(
            f"{rid}:{rs[0] if rs is not None else h}\n".encode())
    while k < len(intervals):
        missing(expect, intervals[k][1], intervals[k][2])
        k += 1
        expect = intervals[k][0] if k < len(intervals) else 0
    for b, ev_id in enumerate(batches.events):
        got = hashers[b].hexdigest() if b in hashers else batch_digest([])
        if b not in bad_batch and got != batches.digests[b]:
            report.add(f"audit event {ev_id}: the results it sealed no longer match its digest "
                       "(a result and its seal were both edited)")
    if progress:
        progress(report.results, total)
    return report
