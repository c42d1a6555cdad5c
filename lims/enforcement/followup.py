"""What a stored result sets in motion: a case for a final positive, an alert for a final
positive or a suspicious result, and a new grade for its vendor.

A positive is final when its method asks for no re-test, or when its re-tests confirmed it
(``lims.intake.retests``: GB/T 5009.199 re-tests a positive at least twice); until then its
sample is "re-test pending" and nothing opens. A held result (calibration gate) opens and raises
nothing until a technician accepts it (``lims.intake.review.accept`` runs the follow-up then).

The intake pipeline (``lims.intake.pipeline.accept_readings``) calls ``follow_up`` and
``regrade_vendors_of`` for every batch it stores, whatever path the readings took; nothing else
needs to. ``follow_up_pending`` (``lims case sweep``) remains for results stored before the
pipeline did this, and for cases voided and restored by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from lims.enforcement.alerts import raise_alerts
from lims.enforcement.cases import open_case, open_cases
from lims.enforcement.grades import newest_result_times, recompute_grades
from lims.enforcement.rules import EnforcementRules, load_enforcement_rules
from lims.intake import retests
from lims.models import (
    Alert,
    EnforcementCase,
    GridGroup,
    Market,
    Method,
    Sample,
    TestResult,
)
from lims.security.auth import Actor
from lims.storage.bulk import among


@dataclass
class FollowUp:
    case_ids: dict[int, int] = field(default_factory=dict)   # result id -> case id
    alert_ids: dict[int, int] = field(default_factory=dict)  # result id -> alert id


def follow_up(*, session: Session, actor: Actor, result_ids: list[int],
              rules: EnforcementRules | None = None) -> FollowUp:
    """Open cases and raise alerts for the given results (idempotent).

    First screens of a sample with a rapid method count: a suspicious one raises its alert, a
    positive one opens its case and raises its alert once it is final (``retests.decide``). A
    rapid re-test brings its screen's re-tests up to date; the re-test that confirms opens the
    screen's case (both ids map to it; later readings of the sample map to nothing). Lab confirmations belong to the case already open.
    Held and voided results are skipped.
    """
    rules = rules or load_enforcement_rules()
    out = FollowUp()
    if not result_ids:
        return out
    rapid = {m.id for m in session.exec(select(Method).where(Method.is_rapid))}
    wanted = set(rules.alert_verdicts) | set(rules.case_verdicts)
    t = TestResult.__table__.c
    todo = [rid for i in range(0, len(result_ids), 500) for rid in session.execute(
        sa.select(t.id).where(t.id.in_(result_ids[i:i + 500]), t.method_id.in_(rapid),
                              t.status.in_(retests.COUNTED),
                              sa.or_(t.verdict.in_(wanted), t.retest_of_id.is_not(None))))
        .scalars()]
    results = [r for i in range(0, len(todo), 500) for r in session.exec(
        select(TestResult).where(among(session, TestResult.id, todo[i:i + 500]))
        .order_by(TestResult.id))]
    _places = _load_places(session, results)   # held: what raising alerts looks up
    # which of these results (and their screens) have an alert or a case: read once
    asked = sorted({r.id for r in results} | {r.retest_of_id for r in results
                                               if r.retest_of_id is not None})
    alerted, opened = _with_alert_or_case(session, asked)
    screens: dict[int, list[int]] = {}   # positive screen id -> the results that touch it
    suspicious: list[int] = []
    for r in results:
        if r.retest_of_id is not None:
            screens.setdefault(r.retest_of_id, []).append(r.id)
        elif r.verdict in rules.case_verdicts:
            screens.setdefault(r.id, []).append(r.id)
        elif r.verdict in rules.alert_verdicts:
            suspicious.append(r.id)
    for known_new in (False, True):   # those with an alert already, then the new ones at once
        for rid, alert in raise_alerts(
                session=session, actor=actor, rules=rules, known_new=known_new,
                result_ids=[i for i in suspicious if (i not in alerted) is known_new]).items():
            out.alert_ids[rid] = alert.id
    # the screens and what deciding them reads, loaded for the batch (not per screen)
    have = {r.id: r for r in results}
    missing = sorted(set(screens) - set(have))
    for i in range(0, len(missing), 500):
        have.update((r.id, r) for r in session.exec(
            select(TestResult).where(among(session, TestResult.id, missing[i:i + 500]))))
    candidates = {sid: have[sid] for sid in screens if sid in have and (
        have[sid].verdict in rules.case_verdicts and have[sid].method_id in rapid
        and have[sid].retest_of_id is None and have[sid].status in retests.COUNTED)}
    preloaded = retests.preload(session, list(candidates.values())) if candidates else {}
    finals: list[tuple[TestResult, datetime | None, list[int]]] = []
    for screen_id, touched in screens.items():
        screen = candidates.get(screen_id)
        if screen is None:
            continue   # a held screen waits for review; a re-test's own screen decides
        d = retests.decide(session=session, actor=actor, screen=screen, preloaded=preloaded,
                           flush=False)
        if d is not None and not d.final:
            continue
        # confirmed by re-tests: opened when confirmed; else (no re-test asked) at the screen
        at = d.at if d is not None and d.state is not None else None
        # the screen, and the re-test that confirmed it just now (not later readings)
        deciding = d.deciding_result_id if d is not None and d.changed else None
        finals.append((screen, at, [rid for rid in touched if rid in (screen_id, deciding)]))
    # the final screens' alerts and cases, each kind at once (those found, then the new ones)
    when = {s.id: at for s, at, _rids in finals}
    alerts: dict[int, Alert] = {}
    for known_new in (False, True):
        alerts.update(raise_alerts(
            session=session, actor=actor, rules=rules, known_new=known_new, at=when,
            result_ids=[s.id for s, _at, _rids in finals if s.verdict in rules.alert_verdicts
                        and (s.id not in alerted) is known_new]))
    cases = {s.id: open_case(session=session, actor=actor, result_id=s.id, at=at, rules=rules)
             for s, at, _rids in finals if s.id in opened}
    cases.update(open_cases(session=session, actor=actor, rules=rules,
                            items=[(s.id, at) for s, at, _rids in finals if s.id not in opened]))
    for s, _at, rids in finals:
        for rid in rids:
            out.case_ids[rid] = cases[s.id].id
            if s.id in alerts:
                out.alert_ids[rid] = alerts[s.id].id
    session.flush()   # samples whose re-test state changed (read with SQL after this)
    return out


def _with_alert_or_case(session: Session, result_ids: list[int]) -> tuple[set[int], set[int]]:
    """The ids among ``result_ids`` that have an alert, and those that have a case."""
    alerted: set[int] = set()
    opened: set[int] = set()
    for i in range(0, len(result_ids), 500):
        part = result_ids[i:i + 500]
        alerted.update(session.execute(sa.select(Alert.result_id)
                                       .where(among(session, Alert.result_id, part))).scalars())
        opened.update(session.execute(sa.select(EnforcementCase.result_id)
                                      .where(among(session, EnforcementCase.result_id, part))).scalars())
    return alerted, opened


def _load_places(session: Session, results: list[TestResult]) -> list:
    """The markets of ``results`` and their grid groups, loaded into the session in two queries
    (the session keeps loaded rows only while they are referenced: the caller holds the list)."""
    ids = sorted({r.market_id for r in results if r.market_id is not None})
    markets = [m for i in range(0, len(ids), 500)
               for m in session.exec(select(Market).where(among(session, Market.id, ids[i:i + 500])))]
    groups = sorted({m.grid_group_id for m in markets if m.grid_group_id is not None})
    return markets + [g for i in range(0, len(groups), 500) for g in session.exec(
        select(GridGroup).where(among(session, GridGroup.id, groups[i:i + 500])))]


def follow_up_pending(*, session: Session, actor: Actor, since: datetime | None = None,
                      rules: EnforcementRules | None = None) -> FollowUp:
    """Follow up every stored first screen that still lacks its case or alert (a positive
    still waiting for its re-tests stays waiting; one they did not confirm is left alone).

    For results that entered through a path that did not call ``follow_up`` (a file import, the
    instrument listener): run after them, or periodically (``lims case sweep``).
    """
    rules = rules or load_enforcement_rules()
    rapid = list(session.exec(select(Method.id).where(Method.is_rapid)))
    wanted = set(rules.alert_verdicts) | set(rules.case_verdicts)
    q = (select(TestResult.id, TestResult.verdict, Alert.id, EnforcementCase.id)
         .outerjoin(Alert, Alert.result_id == TestResult.id)
         .outerjoin(EnforcementCase, EnforcementCase.result_id == TestResult.id)
         .join(Sample, Sample.id == TestResult.sample_id)
         .where(TestResult.method_id.in_(rapid), TestResult.retest_of_id.is_(None),
                TestResult.status.in_(retests.COUNTED), TestResult.verdict.in_(wanted),
                sa.or_(Sample.retest_state.is_(None),   # not confirmed: nothing ever opens
                       Sample.retest_state != retests.RetestState.NOT_CONFIRMED.value)))
    if since is not None:
        q = q.where(TestResult.tested_at >= since)
    todo = [rid for rid, verdict, alert_id, case_id in session.exec(q)
            if (verdict in rules.alert_verdicts and alert_id is None)
            or (verdict in rules.case_verdicts and case_id is None)]
    out = FollowUp()
    for i in range(0, len(todo), 500):
        part = follow_up(session=session, actor=actor, result_ids=todo[i:i + 500], rules=rules)
        out.case_ids.update(part.case_ids)
        out.alert_ids.update(part.alert_ids)
    return out


def regrade_vendors_of(*, session: Session, actor: Actor, result_ids: list[int],
                       newest: dict[int, datetime] | None = None) -> list[int]:
    """Grade again the vendors whose newest results these are, as of the newest of them.

    The grade follows the latest record: a batch of older results (an import of last year's
    files) leaves alone the grade decided on newer ones, and nothing depends on today's date.
    ``newest``: each vendor's newest time among the results, when the caller has them in hand
    (else read). Returns the vendor ids graded.
    """
    if newest is None:
        t = TestResult.__table__.c
        newest = {}
        for i in range(0, len(result_ids), 500):
            q = (sa.select(t.vendor_id, sa.func.max(t.tested_at))
                 .where(among(session, t.id, result_ids[i:i + 500]), t.vendor_id.is_not(None))
                 .group_by(t.vendor_id))
            for vid, at in session.execute(q):
                newest[vid] = max(at, newest.get(vid, at))
    if not newest:
        return []
    # each vendor's newest result overall: its newest in the batch unless a later one exists
    vids = sorted(newest)
    latest = newest_result_times(session, vids)
    due = [v for v in vids if newest[v] >= (latest.get(v) or newest[v])]
    if due:
        recompute_grades(session=session, actor=actor, vendor_ids=due,
                         at=max(newest[v] for v in due), newest_results=latest,
                         all_tests=False)
    return due
