"""The station's change outbox: its audit events of the kinds that sync, as wire items.

The audit trail already records every change, in order (``lims.security.audit``). The events of
the actions in ``SYNCED`` after the station's cursor (``SyncPeer.last_pushed_event_id``) are the
outbox. Each goes up as one item with a stable id (the event's id; the server adds the station
from the token) and refers to what it changes by natural keys, never by station-local ids:

* results (``result.correct``, ``result.void``, ``result.accept``, ``result.release``: the second
  person's release of a lab result, e.g. a confirmatory one) by the result's ingest key and
  sample code; cases (``case.*`` steps) and alerts (``alert.acknowledge``, ``alert.arrive``) by
  the ingest key of the result they belong to (one case and one alert per result);
* teams by name, events and patrols by their content (markets by code, teams by name);
* files (a patrol's photos; ``attachment.add`` of a case's evidence, a sample's photo or a
  calibration record's certificate scan) by SHA-256 and name: the push uploads the bytes the
  server lacks before the change (``lims.sync.files``); a sample's file names its sample by code
  (and waits for the sample's first result to go up), a calibration record's by instrument
  serial, kind and performed_at (``lims.sync.calibrations``' key; records go up first);
* a case's confirmatory (lab) result (``case.confirmatory_result``) by the ingest keys of the
  case's result and of the lab result (which goes up with the results, before the step).

A correction carries only the raw values it changed (the server re-judges, as the station did).
Steps the server makes by itself are not sent: ``case.opened`` (the follow-up of the result or
of its acceptance opens it) and the closing of a case whose result was voided (the void does);
nor a patrol's ``attachment.add`` (its photos go with ``patrol.record``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.models import (
    Alert,
    Attachment,
    AuditEvent,
    CalibrationRecord,
    EnforcementCase,
    EventTeam,
    Instrument,
    Market,
    OutreachEvent,
    PatrolLog,
    Sample,
    TestResult,
    VolunteerTeam,
)

RESULT_ACTIONS = ("result.correct", "result.void", "result.accept", "result.release")
CASE_ACTIONS = ("case.vendor_notified", "case.sale_suspended", "case.objection",
                "case.disposal", "case.public_notice", "case.closed", "case.confirmatory_result",
                "attachment.add")
ALERT_ACTIONS = ("alert.acknowledge", "alert.arrive")
OUTREACH_ACTIONS = ("team.create", "event.create", "patrol.record")
#: the audit actions that go up, in the station's order
SYNCED = (*RESULT_ACTIONS, *CASE_ACTIONS, *ALERT_ACTIONS, *OUTREACH_ACTIONS)


def pending_changes(session: Session, after_id: int) -> int:
    """Audit events of synced kinds after the cursor (a few of them may be skipped when sent)."""
    t = AuditEvent.__table__.c
    return session.execute(sa.select(sa.func.count()).select_from(AuditEvent.__table__)
                           .where(t.id > after_id, t.action.in_(SYNCED))).scalar_one()


def outbox(session: Session, after_id: int, limit: int) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent)
                             .where(AuditEvent.id > after_id, AuditEvent.action.in_(SYNCED))
                             .order_by(AuditEvent.id).limit(limit)))


def first_raw(session: Session, result_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The raw values each result was first stored with, for those corrected since (the oldest
    ``result.correct`` event's ``old``): a push sends these, and the corrections follow."""
    if not result_ids:
        return {}
    out: dict[int, dict[str, Any]] = {}
    q = (select(AuditEvent).where(AuditEvent.action == "result.correct",
                                  AuditEvent.entity == "test_result",
                                  AuditEvent.entity_id.in_([str(i) for i in result_ids]))
         .order_by(AuditEvent.id))
    for ev in session.exec(q):
        out.setdefault(int(ev.entity_id), dict((ev.old or {}).get("raw") or {}))
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _result_ref(session: Session, result_id: int) -> tuple[dict[str, str], int]:
    tr = session.get(TestResult, result_id)
    sample = session.get(Sample, tr.sample_id) if tr is not None else None
    if tr is None:
        return {"ingest_key": "", "sample_code": ""}, 0
    return {"ingest_key": tr.ingest_key, "sample_code": sample.code if sample else ""}, tr.id


def _market_code(session: Session, market_id: int | None) -> str | None:
    m = session.get(Market, market_id) if market_id is not None else None
    return m.code if m else None


def _raw_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    keys = list(dict.fromkeys([*old, *new]))
    return {k: new.get(k) for k in keys if old.get(k) != new.get(k)}


def item(session: Session, ev: AuditEvent) -> tuple[dict[str, Any] | None, int]:
    """The wire item of one audit event and the station's id of the result it needs on the
    server first (0: none); ``None`` for an event the server makes by itself."""
    new, old = ev.new or {}, ev.old or {}
    base: dict[str, Any] = {"id": ev.id, "action": ev.action, "by": ev.actor,
                            "reason": ev.reason or ""}
    entity_id = int(ev.entity_id) if ev.entity_id.isdigit() else 0
    if ev.action in RESULT_ACTIONS:
        ref, needs = _result_ref(session, entity_id)
        data = ({"raw": _raw_diff(old.get("raw") or {}, new.get("raw") or {})}
                if ev.action == "result.correct" else {})
        return {**base, "result": ref, "data": data}, needs
    if ev.action == "attachment.add":
        return _file_change(session, base, ev)
    if ev.action in CASE_ACTIONS:
        if ev.action == "case.closed" and "voided_result_id" in new:
            return None, 0
        case = session.get(EnforcementCase, entity_id)
        ref, needs = _result_ref(session, case.result_id if case else 0)
        if ev.action == "case.confirmatory_result":
            lab, lab_id = _result_ref(session, int(new.get("result_id") or 0))
            return {**base, "result": ref, "data": {"at": new.get("at"), "lab": lab}}, max(
                needs, lab_id)
        keep = ("at", "note", "disposal", "text", "reason")
        return {**base, "result": ref, "data": {k: new[k] for k in keep if k in new}}, needs
    if ev.action in ALERT_ACTIONS:
        alert = session.get(Alert, entity_id)
        ref, needs = _result_ref(session, alert.result_id if alert else 0)
        return {**base, "result": ref, "data": {"at": new.get("at")}}, needs
    if ev.action == "team.create":
        team = session.get(VolunteerTeam, entity_id)
        return {**base, "data": {"name": team.name if team else new.get("name", ""),
                                 "county": team.county if team else new.get("county", ""),
                                 "leader": team.leader if team else ""}}, 0
    if ev.action == "event.create":
        e = session.get(OutreachEvent, entity_id)
        teams = list(session.exec(select(VolunteerTeam.name).join(
            EventTeam, EventTeam.team_id == VolunteerTeam.id).where(EventTeam.event_id == e.id)
            .order_by(VolunteerTeam.id)))
        return {**base, "data": {
            "name": e.name, "kind": e.kind, "place": e.place, "county": e.county,
            "market": _market_code(session, e.market_id), "teams": teams,
            "starts_at": _iso(e.starts_at), "ends_at": _iso(e.ends_at),
            "people_served": e.people_served, "talks_given": e.talks_given}}, 0
    p = session.get(PatrolLog, entity_id)   # patrol.record
    return {**base, "data": {
        "photos": _files(session, "patrol", p.id),
        "market": _market_code(session, p.market_id), "route": p.route,
        "started_at": _iso(p.started_at), "ended_at": _iso(p.ended_at), "staff": p.staff,
        "stalls_checked": p.stalls_checked, "samples_tested": p.samples_tested,
        "issues_found": p.issues_found, "issues": p.issues}}, 0


def _files(session: Session, owner_kind: str, owner_id: int) -> list[dict[str, str]]:
    return [{"sha256": a.sha256, "name": a.name, "mime": a.media_type}
            for a in session.exec(select(Attachment).where(
                Attachment.owner_kind == owner_kind, Attachment.owner_id == owner_id)
                .order_by(Attachment.id))]


def _file_change(session: Session, base: dict[str, Any], ev: AuditEvent
                 ) -> tuple[dict[str, Any] | None, int]:
    """``attachment.add`` of a case's, a sample's or a calibration record's file goes up (its
    owner by natural keys); a patrol's does not (its photos go with ``patrol.record``)."""
    kind, _, owner = str((ev.new or {}).get("owner") or "").partition(":")
    att = session.get(Attachment, int(ev.entity_id)) if ev.entity_id.isdigit() else None
    if not owner.isdigit() or att is None:
        return None, 0
    f = {"sha256": att.sha256, "name": att.name, "mime": att.media_type}
    if kind == "case":
        case = session.get(EnforcementCase, int(owner))
        ref, needs = _result_ref(session, case.result_id if case else 0)
        return {**base, "result": ref, "data": f}, needs
    if kind == "sample":
        sample = session.get(Sample, int(owner))
        if sample is None:
            return None, 0
        first = session.exec(select(sa.func.min(TestResult.id))
                             .where(TestResult.sample_id == sample.id)).one()
        return {**base, "data": {**f, "owner": "sample", "sample_code": sample.code}}, first or 0
    rec = session.get(CalibrationRecord, int(owner)) if kind == "calibration" else None
    if rec is None:
        return None, 0
    inst = session.get(Instrument, rec.instrument_id)
    return {**base, "data": {**f, "owner": "calibration", "calibration": {
        "instrument": inst.serial_no if inst else "", "kind": rec.kind,
        "performed_at": rec.performed_at.isoformat()},
        "certificate": rec.certificate_sha256 == att.sha256}}, 0
