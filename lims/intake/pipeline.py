"""The one way readings enter the store: ``accept_readings``.

Typed in at the stand, imported from a file, heard on a serial port, sent to the API or loaded by
the demo: every reading goes through this function and nothing else. In the caller's transaction
it

1. validates the whole batch against the reference data and binds each reading to its sample
   (``lims.intake.binding``) — any bad reading raises ValidationFailed with one RowError per
   problem and the batch writes nothing;
2. judges each reading with the verdict engine (``lims.intake.judging``), keeps the
   instrument's own verdict beside it (a disagreement is flagged);
3. applies the calibration gate (``lims.intake.gate``): a result of an instrument whose
   calibration lapsed or failed is held for review;
4. stores each reading once (idempotent by ``ingest_key``; a reading identical to a result its
   sample already has is a duplicate too), with bulk writes (``lims.intake.storing``);
5. runs the follow-up: a positive first screen opens its case once it is final (its method's
   re-tests confirmed it, ``lims.intake.retests``; until then its sample is "re-test pending"),
   a final positive or a suspicious one raises an alert to its market's grid group
   (``lims.enforcement.followup``); a held result waits for review; and the vendors whose
   record changed are graded again (``lims.enforcement.grades``);
6. keeps the pass-rate rollups exact (``lims.intake.rollups``) and appends the batch's audit
   events (its seals, its follow-up) to the chain. These rows every writer shares come last,
   under the chain's lock: concurrent batches on PostgreSQL queue only for them.

A reading that names neither a sample nor a channel holding one (``lims.intake.batches``) and
carries nothing to make a sample from is kept whole as an ``UnboundReading`` — counted nowhere,
never lost — until a person binds it to a sample or voids it (``lims.intake.unbound``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from lims import gcpause
from lims.errors import RowError, ValidationFailed
from lims.intake import gate, judging, rollups, staging, storing
from lims.intake.binding import Bound, bind
from lims.intake.readings import IngestReport, ReadingIn, Stored, new_sample_code
from lims.models import (
    Alert,
    EnforcementCase,
    Sample,
    TestResult,
    UnboundReading,
)
from lims.models.enums import CalibrationState, ResultStatus
from lims.models.results import new_uuid
from lims.reference.lookup import RefCache
from lims.security import audit
from lims.security.auth import Actor
from lims.storage.bulk import among
from lims.storage.engine import begin_write
from lims.timeutil import local_date, local_tz, now, week_start
from lims.verdicts import Outcome, Verdict, same_meaning

__all__ = ["IngestReport", "ReadingIn", "Stored", "accept_readings", "check_readings",
           "follow_up_results", "new_sample_code"]


def accept_readings(*, session: Session, actor: Actor, readings: list[ReadingIn],
                    cache: RefCache | None = None, tz: ZoneInfo | None = None,
                    stage: str | None = None) -> IngestReport:
    """Validate, bind, judge, gate, store, keep rollups and follow up a batch (all or nothing).

    See the module docstring. The caller commits (or rolls back) the transaction.

    ``stage`` (a multi-chunk file import: its file's SHA-256): the new results are stored with
    status ``staged`` — counted, shown and followed up nowhere — and their real status waits in
    ``import_stage`` until ``lims.files.import_publish.publish`` makes the whole file visible in
    one transaction and runs the follow-up. The report gives each result its real status.
    """
    with gcpause.paused():   # a batch's many live objects set off full collections
        return _accept(session, actor, readings, cache, tz, stage)


def _accept(session: Session, actor: Actor, readings: list[ReadingIn], cache: RefCache | None,
            tz: ZoneInfo | None, stage: str | None) -> IngestReport:
    tz = tz or local_tz()
    cache = cache or RefCache.load(session)
    bound, errors = check_readings(session=session, readings=readings, cache=cache)
    if errors:
        raise ValidationFailed(errors, "readings")
    begin_write(session)  # SQLite: checks and inserts below see no other writer (no races)
    retest_ids: set[int] = set()
    new_rows: list[dict] = []
    new_samples: set[int] = set()
    # The batch's audit events (its seals, its follow-up) are appended at the end, and the rows
    # every writer shares (the audit chain's head, the rollups) are written last: on PostgreSQL
    # concurrent batches wait for each other only for that, not for their whole follow-up.
    with audit.deferred(session):
        report = _store(session, [b for b in bound if b is not None], cache, tz, retest_ids,
                        stage, new_rows, new_samples)
        if stage is None:
            _follow_up(session, actor, report, retest_ids, new_rows)
        audit.lock_chain(session)   # first, so that all writers lock the rollup rows in turn
        rollups.add_results(session=session, results=new_rows, new_samples=new_samples)
    return report


def check_readings(*, session: Session, readings: list[ReadingIn],
                   cache: RefCache) -> tuple[list[Bound | None], list[RowError]]:
    """Stage 1 alone: validate and bind ``readings`` (one RowError per problem). Reads only,
    takes no write lock: a long import checks every row this way before it stores any."""
    errors: list[RowError] = []
    bound = bind(readings, session, cache, errors)
    gate.check_kit_lots(session, readings, errors)   # an unknown kit lot refuses the batch
    return bound, errors


def _existing(session: Session, keys: list[str]) -> dict[str, Any]:
    t, sm = TestResult.__table__.c, Sample.__table__.c
    out: dict[str, Any] = {}
    for i in range(0, len(keys), 500):
        for row in session.execute(sa.select(
                t.ingest_key, t.id, t.verdict, t.instrument_verdict, t.verdict_mismatch, t.status,
                t.calibration_state, sm.code).join(Sample.__table__, sm.id == t.sample_id)
                .where(among(session, t.ingest_key, keys[i:i + 500]))):
            out[row.ingest_key] = row
    return out


def _prior(r: ReadingIn, row: Any, code: str = "") -> Stored:
    return Stored(r.row, row.id or 0, code, Verdict(Outcome(row.verdict)), row.instrument_verdict,
                  row.verdict_mismatch, row.status, row.calibration_state, duplicate=True)


def _judged_row(x: Bound, records: dict, tz: ZoneInfo, stamp, limit_for) -> tuple:
    r = x.reading
    day = local_date(r.tested_at, tz)
    verdict = judging.judge(x.method, r.raw, commodity=x.commodity, analyte=x.analyte, on=day,
                            limit_for=limit_for, standard=r.standard)
    mismatch = x.instrument_outcome is not None and not same_meaning(verdict.outcome,
                                                                    x.instrument_outcome)
    if x.instrument is not None:
        state = gate.state_at(records.get(x.instrument.id, []), r.tested_at, tz)
    else:
        state = CalibrationState.NOT_APPLICABLE
    status = gate.status_for(state)
    reasons = list(verdict.reasons) + [f"warning: {w}" for w in verdict.warnings]
    if mismatch:
        reasons.append(f"instrument said {r.instrument_verdict!r}, the engine says "
                       f"{verdict.outcome.value}: flagged for review")
    if status is ResultStatus.HELD:
        reasons.append(f"held: instrument calibration {state.value} at test time")
    row = {
        "method_id": x.method.id, "analyte_id": x.analyte.id if x.analyte else None,
        "instrument_id": x.instrument.id if x.instrument else None, "channel": r.channel,
        "tested_at": r.tested_at, "tested_by": r.tested_by, "raw": r.raw,
        "computed_value": verdict.value, "computed_unit": verdict.unit,
        "verdict": verdict.outcome.value, "verdict_reasons": reasons,
        "instrument_verdict": x.instrument_outcome.value if x.instrument_outcome else None,
        "verdict_mismatch": mismatch,
        "threshold_id": (verdict.threshold or {}).get("threshold_id"),
        "status": status.value, "calibration_state": state.value,
        "retest_of_id": r.retest_of_id, "source": r.source, "ingest_key": x.key,
        "local_date": day, "week_start": week_start(day), "created_at": stamp,
        "received_at": r.received_at, "journal_ref": r.journal_ref,   # issue 19: clocks
    }
    return row, verdict, mismatch


def _store(session: Session, bound: list[Bound], cache: RefCache, tz: ZoneInfo,
           retest_ids: set[int], stage: str | None, new_rows: list[dict],
           new_samples: set[int]) -> IngestReport:
    """Store the batch; the ids of new results that re-test a screen go into ``retest_ids``,
    the new results' rows (for the rollups, added by the caller) into ``new_rows``, the ids of
    the samples made for them into ``new_samples``."""
    existing = _existing(session, [x.key for x in bound])
    inst_ids = {x.instrument.id for x in bound if x.instrument is not None}
    records = gate.latest_records(session, inst_ids) if inst_ids else {}
    gate.preload_daily_qc(session, {(x.instrument.id, local_date(x.reading.tested_at, tz))
                                    for x in bound if x.instrument is not None}, tz)
    slots: list[Stored | int | str] = []   # a prior duplicate, a pending index, a repeated key
    pending: list[tuple[Bound, dict, int, Verdict, bool]] = []   # int: sample slot
    first_of: dict[str, int] = {}
    sample_rows: list[dict] = []
    fixed: set[int] = set()                # sample rows whose code the reading gave
    slot_of_group: dict[str, int] = {}
    old_samples: list = []
    stamp = now()
    limit_for = judging.remembered_limits(cache)
    for x in bound:
        r = x.reading
        prior = existing.get(x.key)
        if x.unbound is not None and prior is None:
            slots.append(_keep_unbound(session, x))
            continue
        if prior is not None:
            slots.append(_prior(r, prior, prior.code))
            continue
        if x.duplicate_of is not None:
            slots.append(_prior(r, x.duplicate_of, x.sample.code if x.sample else ""))
            continue
        if x.key in first_of:
            slots.append(x.key)
            continue
        if x.sample is not None:
            old_samples.append(x.sample)
            s_slot = -len(old_samples)
            market_id, commodity_id = x.sample.market_id, x.sample.commodity_id
        elif x.group and x.group in slot_of_group:
            s_slot = slot_of_group[x.group]
            market_id, commodity_id = sample_rows[s_slot]["market_id"], x.commodity.id
        else:
            sample_rows.append({
                "uuid": new_uuid(), "code": x.new_code or new_sample_code(r.tested_at.date()),
                "market_id": x.market.id if x.market else None,
                "vendor_id": x.vendor.id if x.vendor else None,
                "resident_purchase": r.resident_purchase, "commodity_id": x.commodity.id,
                "taken_at": r.tested_at, "taken_by": r.tested_by, "event_id": r.event_id})
            s_slot = len(sample_rows) - 1
            if x.new_code:
                fixed.add(s_slot)
                slot_of_group[x.group] = s_slot
            market_id, commodity_id = sample_rows[-1]["market_id"], x.commodity.id
        row, verdict, mismatch = _judged_row(x, records, tz, stamp, limit_for)
        gate.apply_kit_lot(session, row, x.reading)   # records the lot; an expired one holds
        gate.apply_daily_qc(session, row, x.instrument, x.reading.tested_at)   # QC rejected
        gate.apply_release(row, x.method)   # a lab method's result awaits a second person
        row["market_id"], row["commodity_id"] = market_id, commodity_id
        if stage is not None:   # its real status waits in import_stage until the publish
            row["staged_as"], row["status"] = row["status"], ResultStatus.STAGED.value
        first_of[x.key] = len(pending)
        slots.append(len(pending))
        pending.append((x, row, s_slot, verdict, mismatch))

    session.flush()  # what the caller added before, so the bulk inserts can refer to it
    for _x, row, s_slot, _v, _m in pending:   # a sample is taken when its first reading was
        if s_slot >= 0 and row["tested_at"] < sample_rows[s_slot]["taken_at"]:
            sample_rows[s_slot]["taken_at"] = row["tested_at"]
    sample_ids = storing.insert_samples(session, sample_rows, fixed)
    new_samples.update(sample_ids)

    def sample_of(s_slot: int) -> tuple[int, str, int | None]:   # id, code, vendor
        if s_slot >= 0:
            return sample_ids[s_slot], sample_rows[s_slot]["code"], sample_rows[s_slot]["vendor_id"]
        sm = old_samples[-s_slot - 1]
        return sm.id, sm.code, sm.vendor_id

    for _x, row, s_slot, _v, _m in pending:   # (the vendor: grading reads results by it, 0035)
        row["sample_id"], _code, row["vendor_id"] = sample_of(s_slot)
    staged_as = staging.prepare([p[1] for p in pending]) if stage is not None else []
    result_ids = storing.insert_ids(session, TestResult.__table__, [p[1] for p in pending],
                                    "ingest_key")
    if stage is not None:
        staging.stage_results(session, stage, [p[1] for p in pending], result_ids, staged_as,
                              set(sample_ids), {p[0].method.id: p[0].method.is_rapid
                                                for p in pending})
    _link_new_samples(session, pending, result_ids)
    retest_ids.update(rid for p, rid in zip(pending, result_ids, strict=True)
                      if p[1]["retest_of_id"] is not None)
    new_rows.extend(p[1] for p in pending)
    new: list[Stored] = []
    for k, ((x, row, s_slot, verdict, mismatch), rid) in enumerate(
            zip(pending, result_ids, strict=True)):   # a staged one: the status it will get
        new.append(Stored(x.reading.row, rid, sample_of(s_slot)[1], verdict,
                          row["instrument_verdict"], mismatch,
                          staged_as[k] if staged_as else row["status"],
                          row["calibration_state"], ingest_key=x.key))
    report = IngestReport()
    for x, slot in zip(bound, slots, strict=True):
        if isinstance(slot, Stored):
            report.stored.append(slot)
        elif isinstance(slot, int):
            report.stored.append(new[slot])
        else:  # the same reading twice in one batch: stored once
            f = new[first_of[slot]]
            report.stored.append(Stored(x.reading.row, f.result_id, f.sample_code, f.verdict,
                                        f.instrument_verdict, f.mismatch, f.status,
                                        f.calibration_state, duplicate=True))
    return report


def _keep_unbound(session: Session, x: Bound) -> Stored:
    """A reading that found no sample: kept whole, once, until a person binds or voids it."""
    r = x.reading
    verdict = Verdict(Outcome.INVALID, rule="unbound", reasons=(f"unbound: {x.unbound}",))
    prior = session.exec(select(UnboundReading).where(UnboundReading.ingest_key == x.key)).first()
    if prior is not None:
        return Stored(r.row, prior.result_id or 0, "", verdict, r.instrument_verdict, False,
                      "unbound", "", duplicate=True, unbound_id=prior.id)
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
               for k, v in vars(r).items() if k not in ("row",)}
    u = UnboundReading(ingest_key=x.key, instrument_id=x.instrument.id if x.instrument else None,
                       channel=r.channel, method=r.method, tested_at=r.tested_at,
                       reading=payload, reason=x.unbound[:300])
    session.add(u)
    session.flush()
    return Stored(r.row, 0, "", verdict, r.instrument_verdict, False, "unbound", "",
                  unbound_id=u.id)


def _link_new_samples(session: Session, pending: list, result_ids: list[int]) -> None:
    """Readings of one sample without an earlier screen: the earliest is its screen, the others
    re-test it."""
    by_sample: dict[int, list[tuple]] = {}
    for (_x, row, _slot, _v, _m), rid in zip(pending, result_ids, strict=True):
        if row["retest_of_id"] is None:
            by_sample.setdefault(row["sample_id"], []).append((row["tested_at"], rid, row))
    t = TestResult.__table__
    for group in by_sample.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda g: (g[0], g[1]))
        head = group[0][1]
        for _at, _rid, row in group[1:]:
            row["retest_of_id"] = head
        ids = [g[1] for g in group[1:]]
        for i in range(0, len(ids), 500):   # (500 at a time, as the other look-ups)
            session.execute(t.update().where(among(session, t.c.id, ids[i:i + 500]))
                            .values(retest_of_id=head))


def _follow_up(session: Session, actor: Actor, report: IngestReport, retest_ids: set[int],
               rows: list[dict]) -> None:
    """Cases, alerts and grades for what this batch stored (its new results' ``rows``; see the
    module docstring)."""
    # enforcement builds on stored results, and its lab confirmations come back through this
    # pipeline: imported here, not at the top, so the two packages can import each other
    from lims.enforcement.followup import follow_up, regrade_vendors_of
    from lims.enforcement.rules import load_enforcement_rules

    ids = report.new_result_ids
    rules = load_enforcement_rules()   # parsed once per file version
    wanted = set(rules.alert_verdicts) | set(rules.case_verdicts)
    # a flagged screen can open or raise something, and so can any re-test (it may confirm its
    # screen's positive or not); follow_up narrows these down to rapid, counted results
    flagged = [s.result_id for s in report.stored if not s.duplicate and s.unbound_id is None
               and s.result_id and (s.verdict.outcome.value in wanted or s.result_id in retest_ids)]
    with audit.deferred(session):   # one INSERT for the batch's events, same chain
        fu = follow_up(session=session, actor=actor, result_ids=flagged, rules=rules) \
            if flagged else None
        if ids:
            newest: dict[int, Any] = {}   # each vendor's newest result of the batch
            for r in rows:
                if r["vendor_id"] is not None and (r["vendor_id"] not in newest
                                                   or r["tested_at"] > newest[r["vendor_id"]]):
                    newest[r["vendor_id"]] = r["tested_at"]
            report.graded_vendor_ids = regrade_vendors_of(session=session, actor=actor,
                                                          result_ids=ids, newest=newest)
    dups = [s.result_id for s in report.stored if s.duplicate and s.result_id]
    cases, alerts = _cases_and_alerts(session, dups)
    for s in report.stored:
        if not s.duplicate and fu is not None:
            s.case_id = fu.case_ids.get(s.result_id)
            s.alert_id = fu.alert_ids.get(s.result_id)
        elif s.duplicate:   # what the first time set in motion
            s.case_id, s.alert_id = cases.get(s.result_id), alerts.get(s.result_id)
    if retest_ids:   # a lab re-test changes its kit lot's agreement (issue 19)
        from lims.lab.watch import after_lab_results

        after_lab_results(session=session, actor=actor, result_ids=sorted(retest_ids))


def follow_up_results(*, session: Session, actor: Actor, result_ids: list[int]) -> Any:
    """Run the follow-up of results stored earlier that waited for it: a held result that a
    technician accepted (``lims.intake.review.accept``) or a second user released
    (``lims.lab.release``) opens its case, raises its alert, confirms its screen's re-tests,
    decides its case's outcome (a lab re-test) and regrades its vendor now, as if it had just
    been stored (and of a published import's results, ``lims.files.import_publish``). Returns
    the enforcement follow-up's outcome (its cases and alerts), None for no ids."""
    from lims.enforcement.confirmation import refresh_cases_of
    from lims.enforcement.followup import follow_up, regrade_vendors_of

    fu = None
    if result_ids:
        fu = follow_up(session=session, actor=actor, result_ids=result_ids)
        regrade_vendors_of(session=session, actor=actor, result_ids=result_ids)
        refresh_cases_of(session=session, actor=actor, result_ids=result_ids)   # lab re-tests
        from lims.lab.watch import after_lab_results

        after_lab_results(session=session, actor=actor, result_ids=result_ids)  # lot agreement
    return fu


def _cases_and_alerts(session: Session, result_ids: list[int]) -> tuple[dict, dict]:
    cases: dict[int, int] = {}
    alerts: dict[int, int] = {}
    for i in range(0, len(result_ids), 500):
        part = result_ids[i:i + 500]
        cases.update(session.execute(sa.select(EnforcementCase.result_id, EnforcementCase.id)
                                     .where(among(session, EnforcementCase.result_id, part))).all())
        alerts.update(session.execute(sa.select(Alert.result_id, Alert.id)
                                      .where(among(session, Alert.result_id, part))).all())
    return cases, alerts

