"""On the central server: apply a station's changes, once each, in order, all or nothing.

A change (``lims.sync.changes`` builds them on the station) goes through the same services the
CLI and the app use: corrections and voids (``lims.intake.corrections``), the review of held
results (``lims.intake.review``), case steps (``lims.enforcement.cases``), alert responses
(``lims.enforcement.alerts``), teams, events and patrols (``lims.outreach``). They run as the
station's service actor ``station:NAME`` with the role the change needs (``SERVICE_ROLES``), so
the services check their permission and write their audit events as for any user.

A change to a result refers to it by ingest key; only the station that uploaded the result
(``ResultOwner``) may change it. Each applied change is a ``SyncChange`` row (station, event id):
sent again it answers ``"duplicate"`` and does nothing. A refused change (a service refused it,
or a result another station owns) is answered ``"refused"`` with the field and reason and kept
in the station's list (``SyncRefused``); the rest of the batch is applied (each change runs in
its own savepoint). Order: a later change to the same result as a refused one is refused too
("waits for refused change N"), so nothing about one result applies out of order; the station
parks both and sends them again, in order, on ``lims sync retry``. The station's audit
chain head, sent with the changes, is kept per station (``StationChainHead``).

Files: a patrol's photos and ``attachment.add`` (of a case, a sample or a calibration record)
name their content by SHA-256; the station uploaded the bytes before (``lims.sync.files``);
applying the change attaches them to the record here (``lims.files.attachments.attach``,
audited; the same content on the same owner once). A sample is found by its code, a calibration
record by (instrument serial, kind, performed_at) (``lims.sync.files.owner_here``). A file or
owner not here refuses the change (it parks on the station). A case's ``confirmatory_result`` step links the lab result the
station uploaded (``lims.enforcement.confirmation.link_confirmatory``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from lims.enforcement import alerts, cases, confirmation
from lims.errors import LimsError, NotFound, RowError, ValidationFailed
from lims.files import attachments
from lims.intake import corrections, review
from lims.lab import release
from lims.models import (
    Alert,
    EnforcementCase,
    Market,
    ResultOwner,
    Sample,
    StationChainHead,
    SyncChange,
    SyncRefused,
    TestResult,
    VolunteerTeam,
)
from lims.models.enums import Role
from lims.outreach import events, patrols
from lims.security.auth import Actor
from lims.storage import bulk
from lims.sync import files
from lims.sync.changes import ALERT_ACTIONS, CASE_ACTIONS, RESULT_ACTIONS
from lims.timeutil import now

#: the role the station's service actor takes for each kind of change
SERVICE_ROLES: dict[str, Role] = {
    **dict.fromkeys(RESULT_ACTIONS, Role.LAB_TECHNICIAN),      # results.correct / .review
    **dict.fromkeys((*CASE_ACTIONS, *ALERT_ACTIONS), Role.FIELD_TESTER),   # cases.manage
    **dict.fromkeys(("team.create", "event.create", "patrol.record"), Role.FIELD_TESTER),
}


class Refused(LimsError):
    """One change cannot be applied: ``field`` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def record_owners(session: Session, station: str, ingest_keys: list[str]) -> None:
    """The results a station's upload stored now (by their ingest keys) are that station's
    (called by the readings route, in its transaction; one INSERT for the batch, a key with an
    owner already keeps it)."""
    if not ingest_keys:
        return
    insert = bulk.upsert_insert(session.connection().dialect.name, ResultOwner.__table__)
    session.execute(insert.on_conflict_do_nothing(index_elements=["ingest_key"]),
                    [{"ingest_key": k, "station": station} for k in dict.fromkeys(ingest_keys)])


def record_chain_head(session: Session, station: str, head: dict[str, Any]) -> None:
    """Keep the station's audit chain head as sent (``lims.security.chainhead.witness``): the
    central server is its witness outside the station."""
    session.add(StationChainHead(station=station, event_id=int(head["event_id"]),
                                 hash=str(head["hash"]), station_at=str(head.get("at") or "")[:40],
                                 received_at=now()))
    session.flush()


def _at(data: dict[str, Any], key: str = "at", required: bool = True) -> datetime | None:
    value = data.get(key)
    if value in (None, ""):
        if required:
            raise Refused(f"data.{key}", "missing time")
        return None
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        raise Refused(f"data.{key}", f"not an ISO time: {value!r}") from None
    if at.tzinfo is None:
        raise Refused(f"data.{key}", f"{value!r} has no UTC offset")
    return at


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise Refused(f"data.{key}", f"must be text, got {value!r}")
    return value


def _result(session: Session, station: str, ref: dict[str, Any] | None) -> TestResult:
    key = (ref or {}).get("ingest_key") or ""
    if not key:
        raise Refused("result.ingest_key", "the change names no result (ingest_key)")
    tr = session.exec(select(TestResult).where(TestResult.ingest_key == key)).first()
    if tr is None:
        raise Refused("result.ingest_key", f"no result with ingest key {key} here: push the "
                                           "results before their changes")
    owner = session.exec(select(ResultOwner.station).where(ResultOwner.ingest_key == key)).first()
    if owner != station:
        raise Refused("result.ingest_key", f"result {key} was not uploaded by station {station}; "
                                           "a station may change only its own results")
    code = (ref or {}).get("sample_code")
    sample = session.get(Sample, tr.sample_id)
    if code and sample is not None and sample.code != code:
        raise Refused("result.sample_code", f"result {key} has sample {sample.code} here, "
                                            f"not {code}")
    return tr


def _market_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    m = session.exec(select(Market.id).where(Market.code == code)).first()
    if m is None:
        raise Refused("data.market", f"no market with code {code!r} here")
    return m


def _apply_result(session: Session, actor: Actor, tr: TestResult, action: str,
                  reason: str, data: dict[str, Any]) -> None:
    if action == "result.correct":
        raw = data.get("raw")
        if not isinstance(raw, dict) or not raw:
            raise Refused("data.raw", "a correction needs the raw values it changed")
        corrections.correct_result(session=session, actor=actor, result_id=tr.id, raw=raw,
                                   reason=reason)
    elif action == "result.void":
        corrections.void_result(session=session, actor=actor, result_id=tr.id, reason=reason)
    elif action == "result.release":   # released on the station by its second person (``by``)
        release.release(session=session, actor=actor, result_id=tr.id, reason=reason)
    else:
        review.accept(session=session, actor=actor, result_id=tr.id, reason=reason)


def _file(var_dir: Path | None, f: Any, field: str) -> tuple[bytes, str]:
    """(bytes, name) of a file the change names, uploaded before by the station."""
    sha = f.get("sha256") if isinstance(f, dict) else None
    if not isinstance(sha, str) or not sha:
        raise Refused(field, "a file needs its sha256")
    try:
        return attachments.load(sha, var_dir), str(f.get("name") or "")
    except NotFound:
        raise Refused(field, f"file {sha} was not uploaded (PUT /api/v1/attachments/{sha}): "
                             "push again") from None


def _apply_owned_file(session: Session, station: str, data: dict[str, Any],
                      var_dir: Path | None) -> None:
    """``attachment.add`` of a sample's or a calibration record's file, with the role its owner
    needs (``results.create``; ``calibration.record``)."""
    kind, owner_id = files.owner_here(session, station, data)
    content, name = _file(var_dir, data, "data.sha256")
    role = Role.LAB_TECHNICIAN if kind == "calibration" else Role.FIELD_TESTER
    att = attachments.attach(session, Actor(f"station:{station}", role), kind, owner_id, name,
                             content, var_dir=var_dir)
    if kind == "calibration" and data.get("certificate") is True:
        files.mark_certificate(session, owner_id, att)


def _apply_case(session: Session, actor: Actor, tr: TestResult, action: str, reason: str,
                data: dict[str, Any], var_dir: Path | None = None) -> None:
    case = session.exec(select(EnforcementCase).where(EnforcementCase.result_id == tr.id)).first()
    if case is None:
        raise Refused("result.ingest_key", f"result {tr.ingest_key} has no case here")
    if action == "attachment.add":
        content, name = _file(var_dir, data, "data.sha256")
        attachments.attach(session, actor, "case", case.id, name, content, var_dir=var_dir)
        return
    if action == "case.confirmatory_result":
        lab = _result(session, actor.username.removeprefix("station:"), data.get("lab"))
        confirmation.link_confirmatory(session=session, actor=actor, case_id=case.id,
                                       result_id=lab.id, at=_at(data))
        return
    kw = {"session": session, "actor": actor, "case_id": case.id, "at": _at(data)}
    kind = action.removeprefix("case.")
    if kind == "vendor_notified":
        cases.notify_vendor(**kw, note=_text(data, "note"))
    elif kind == "sale_suspended":
        cases.suspend_sale(**kw, note=_text(data, "note"))
    elif kind == "objection":
        cases.lodge_objection(**kw, note=_text(data, "note"))
    elif kind == "disposal":
        cases.record_disposal(**kw, disposal=_text(data, "disposal"), note=_text(data, "note"))
    elif kind == "public_notice":
        cases.publish_notice(**kw, text=_text(data, "text"))
    else:
        cases.close_case(**kw, reason=_text(data, "reason") or reason)


def _apply_alert(session: Session, actor: Actor, tr: TestResult, action: str,
                 data: dict[str, Any]) -> None:
    alert = session.exec(select(Alert).where(Alert.result_id == tr.id)).first()
    if alert is None:
        raise Refused("result.ingest_key", f"result {tr.ingest_key} raised no alert here")
    fn = alerts.acknowledge if action == "alert.acknowledge" else alerts.arrive
    fn(session=session, actor=actor, alert_id=alert.id, at=_at(data))


def _team_ids(session: Session, names: Any) -> list[int]:
    if not isinstance(names, list) or not names:
        raise Refused("data.teams", "an event needs the names of its teams")
    ids = []
    for name in names:
        tid = session.exec(select(VolunteerTeam.id).where(VolunteerTeam.name == name)).first()
        if tid is None:
            raise Refused("data.teams", f"no volunteer team named {name!r} here")
        ids.append(tid)
    return ids


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(f"data.{key}", f"must be a whole number, got {value!r}")
    return value


def _apply_outreach(session: Session, actor: Actor, action: str, data: dict[str, Any],
                    var_dir: Path | None = None) -> None:
    if action == "team.create":
        name = _text(data, "name").strip()
        if session.exec(select(VolunteerTeam.id).where(VolunteerTeam.name == name)).first():
            return   # the same team, known here already (made here or by another station)
        events.create_team(session=session, actor=actor, name=name,
                           county=_text(data, "county"), leader=_text(data, "leader"))
    elif action == "event.create":
        events.create_event(session=session, actor=actor, name=_text(data, "name"),
                            kind=_text(data, "kind"), starts_at=_at(data, "starts_at"),
                            ends_at=_at(data, "ends_at", required=False),
                            team_ids=_team_ids(session, data.get("teams")),
                            place=_text(data, "place"), county=_text(data, "county"),
                            market_id=_market_id(session, data.get("market")),
                            people_served=_int(data, "people_served"),
                            talks_given=_int(data, "talks_given"))
    else:
        photos = data.get("photos") or []
        if not isinstance(photos, list):
            raise Refused("data.photos", "must be a list of files")
        content = [_file(var_dir, f, "data.photos") for f in photos]
        p = patrols.record_patrol(session=session, actor=actor, route=_text(data, "route"),
                              started_at=_at(data, "started_at"),
                              ended_at=_at(data, "ended_at", required=False),
                              market_id=_market_id(session, data.get("market")),
                              staff=_text(data, "staff"),
                              stalls_checked=_int(data, "stalls_checked"),
                              samples_tested=_int(data, "samples_tested"),
                              issues_found=_int(data, "issues_found"),
                              issues=_text(data, "issues"))
        stored = [attachments.attach(session, actor, "patrol", p.id, name, raw,
                                     types=attachments.IMAGE_TYPES, field="photos",
                                     var_dir=var_dir) for raw, name in content]
        if stored:   # as lims.outreach.patrols lists them
            p.photos = [{"path": attachments.relative_path(f.sha256), "sha256": f.sha256,
                         "mime": f.media_type, "attachment_id": f.id} for f in stored]
            session.add(p)
            session.flush()


def _apply_one(session: Session, station: str, change: dict[str, Any],
               var_dir: Path | None = None) -> None:
    action = change["action"]
    actor = Actor(f"station:{station}", SERVICE_ROLES[action])
    data, reason = change.get("data") or {}, change.get("reason") or ""
    if action == "attachment.add" and data.get("owner") not in (None, "case"):
        _apply_owned_file(session, station, data, var_dir)
    elif action in RESULT_ACTIONS or action in CASE_ACTIONS or action in ALERT_ACTIONS:
        tr = _result(session, station, change.get("result"))
        if action in RESULT_ACTIONS:
            _apply_result(session, actor, tr, action, reason, data)
        elif action in CASE_ACTIONS:
            _apply_case(session, actor, tr, action, reason, data, var_dir)
        else:
            _apply_alert(session, actor, tr, action, data)
    else:
        _apply_outreach(session, actor, action, data, var_dir)


def _field_of(exc: LimsError) -> tuple[str, str]:
    """(field, message) of a service's refusal."""
    if isinstance(exc, Refused):
        return exc.field, str(exc)
    if isinstance(exc, ValidationFailed) and exc.errors:
        e = exc.errors[0]
        return f"data.{e.field}" if e.field else "data", e.message
    text = str(exc)
    head, sep, rest = text.partition(": ")
    if sep and head.isidentifier():
        return f"data.{head}", rest
    return "action", text


def _refuse(session: Session, station: str, change: dict[str, Any], field: str,
            message: str) -> dict[str, str]:
    """Keep the refusal in the station's list on this server; the answer of the change."""
    row = session.exec(select(SyncRefused).where(SyncRefused.station == station,
                                                 SyncRefused.event_id == change["id"])).first()
    row = row or SyncRefused(station=station, event_id=change["id"], action=change["action"])
    row.field, row.message, row.refused_at = field[:100], message[:2000], now()
    session.add(row)
    session.flush()
    return {"status": "refused", "field": field, "message": message}


def apply_changes(*, session: Session, station: str, changes: list[dict[str, Any]],
                  var_dir: Path | None = None) -> list[dict[str, str]]:
    """Apply the batch in the caller's transaction, each change in a savepoint: one answer per
    change, ``{"status": "applied" | "duplicate" | "refused", "field", "message"}``. A refused
    change is kept in ``SyncRefused`` and the batch goes on; a later change of the batch to the
    same result is refused too (it waits for the refused one: no change applies out of order)."""
    ids = [c["id"] for c in changes]
    for i in range(1, len(ids)):
        if ids[i] <= ids[i - 1]:
            raise ValidationFailed([RowError(i, "id", f"change {ids[i]} after change "
                                                      f"{ids[i - 1]}: send changes in order")],
                                   "changes")
    seen = set(session.exec(select(SyncChange.event_id).where(SyncChange.station == station,
                                                              SyncChange.event_id.in_(ids))))
    blocked: dict[str, int] = {}   # ingest key → the refused change it waits for
    answers: list[dict[str, str]] = []
    for change in changes:
        if change["id"] in seen:
            answers.append({"status": "duplicate"})
            continue
        key = (change.get("result") or {}).get("ingest_key") or ""
        if key and key in blocked:
            answers.append(_refuse(session, station, change, "result.ingest_key",
                                   f"change {change['id']} ({change['action']}) waits for "
                                   f"refused change {blocked[key]} to the same result"))
            continue
        try:
            with session.begin_nested():
                _apply_one(session, station, change, var_dir)
        except LimsError as exc:
            field, message = _field_of(exc)
            if key:
                blocked[key] = change["id"]
            answers.append(_refuse(session, station, change, field,
                                   f"change {change['id']} ({change['action']}): {message}"))
            continue
        session.add(SyncChange(station=station, event_id=change["id"], action=change["action"],
                               by=(change.get("by") or "")[:60], applied_at=now()))
        for gone in session.exec(select(SyncRefused).where(SyncRefused.station == station,
                                                           SyncRefused.event_id == change["id"])):
            session.delete(gone)
        session.flush()
        answers.append({"status": "applied"})
    return answers
