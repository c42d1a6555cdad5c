"""Demo step of the field and enforcement workflows (issue 6), run after ``demo_results``.

Opens the cases and raises the alerts the demo's results call for (``followup.follow_up``), then
walks them the way a county office would: the vendor is told and suspends sale, a few object (one
in ten of those too late), lab results already in the demo decide the outcome, older cases are
disposed of, noticed and closed; grid staff acknowledge and arrive (most within 10 minutes).
A few negative screens also go to the lab, so the rapid-vs-lab tables have both sides.
Volunteer teams (one per county) get volunteers, the demo's events and service hours; night
markets get weekly patrols; every vendor is graded at the end.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta

from sqlmodel import select

from lims.demo.loader import DemoContext, register_step
from lims.demo.places import person
from lims.enforcement import alerts, cases, confirmation, grades
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import (
    Alert,
    EnforcementCase,
    EventService,
    EventTeam,
    PatrolLog,
    Sample,
    TestResult,
    Volunteer,
    VolunteerTeam,
)
from lims.reference.lookup import RefCache
from lims.timeutil import now


def _minutes(rng, median: float, sigma: float) -> float:
    return round(median * math.exp(rng.gauss(0, sigma)), 1)


def _cases(ctx: DemoContext, case_ids: list[int]) -> None:
    rng = ctx.rng("demo_workflows.cases")
    s, actor = ctx.session, ctx.actor
    closing_before = ctx.local(ctx.until, 0) - timedelta(days=3)
    current = now()
    for cid in case_ids:
        case = s.get(EnforcementCase, cid)
        notified = case.opened_at + timedelta(minutes=rng.randint(5, 40))
        if notified > current:
            continue
        cases.notify_vendor(session=s, actor=actor, case_id=cid, at=notified)
        cases.suspend_sale(session=s, actor=actor, case_id=cid,
                           at=notified + timedelta(minutes=rng.randint(0, 10)))
        if rng.random() < 0.15:
            late = rng.random() < 0.1
            hours = rng.uniform(4.05, 6.0) if late else rng.uniform(0.3, 3.9)
            at = notified + timedelta(hours=hours)
            if at <= current:
                d = cases.lodge_objection(session=s, actor=actor, case_id=cid, at=at,
                                          note="经营户对快检结果有异议,申请复检")
                ctx.counts["objections_accepted" if d.accepted else "objections_refused"] += 1
        confirmation.refresh_outcome(session=s, case=case)
        if case.opened_at > closing_before or (case.objection_accepted and not case.outcome):
            continue   # a contested case without its lab re-test has no outcome: stays open
        done = case.opened_at + timedelta(days=rng.randint(1, 3))
        disposal = ("released_after_retest" if case.outcome == "overturned" else
                    rng.choices(["destroyed", "returned_to_supplier"], [0.75, 0.25])[0])
        cases.record_disposal(session=s, actor=actor, case_id=cid, disposal=disposal, at=done)
        cases.publish_notice(session=s, actor=actor, case_id=cid, at=done + timedelta(hours=1),
                             text="该批次产品快检阳性,已按规定处置,特此公示。")
        cases.close_case(session=s, actor=actor, case_id=cid, at=done + timedelta(hours=2))
        ctx.counts["cases_closed"] += 1


def _alerts(ctx: DemoContext, alert_ids: list[int]) -> None:
    rng = ctx.rng("demo_workflows.alerts")
    current = now()
    for aid in alert_ids:
        a = ctx.session.get(Alert, aid)
        ack = a.raised_at + timedelta(minutes=_minutes(rng, 2.5, 0.5))
        arrive = a.raised_at + timedelta(minutes=_minutes(rng, 7.5, 0.45))
        if arrive > current or rng.random() < 0.03:
            if ack <= current:
                alerts.acknowledge(session=ctx.session, actor=ctx.actor, alert_id=aid, at=ack)
            continue
        alerts.acknowledge(session=ctx.session, actor=ctx.actor, alert_id=aid, at=min(ack, arrive))
        alerts.arrive(session=ctx.session, actor=ctx.actor, alert_id=aid, at=arrive)


def _surveillance_labs(ctx: DemoContext) -> None:
    """Send a few negative screens to the lab as well (method evaluation needs both sides)."""
    rng = ctx.rng("demo_workflows.labs")
    options = ctx.scenario.get("lab", {})
    cache = RefCache.load(ctx.session)
    rapid = [m.id for m in cache.method_by_id.values() if m.is_rapid]
    ids = set(ctx.result_ids)
    readings = []
    rows = ctx.session.exec(
        select(TestResult, Sample.code).join(Sample, Sample.id == TestResult.sample_id)
        .where(TestResult.verdict == "negative", TestResult.retest_of_id.is_(None),
               TestResult.method_id.in_(rapid)).order_by(TestResult.id)).all()
    for r, code in rows:
        commodity = cache.commodity_by_id[r.commodity_id]
        if r.id not in ids or commodity.name_zh not in options or rng.random() >= 0.06:
            continue
        analyte_name, method = rng.choice(options[commodity.name_zh])
        when = r.tested_at + timedelta(days=rng.randint(1, 3), hours=rng.randint(4, 7))
        if when.astimezone(ctx.tz).date() > ctx.until or not ctx.happened(when):
            continue
        limit = cache.limit(cache.analyte(analyte_name), commodity, when.astimezone(ctx.tz).date())
        if limit is None:
            continue
        factor = rng.uniform(1.5, 4.0) if rng.random() < 0.06 else rng.uniform(0.0, 0.6)
        readings.append(ReadingIn(method=method, raw={"value": round(limit.value * factor, 4),
                                                      "unit": limit.unit},
                                  tested_at=when, sample_code=code, analyte=analyte_name,
                                  retest_of_id=r.id, source="demo", tested_by="demo lab"))
    if readings:
        rep = accept_readings(session=ctx.session, actor=ctx.actor, readings=readings,
                              cache=cache, tz=ctx.tz)
        from lims.demo.results import release_lab_results

        release_lab_results(ctx, readings, rep.stored, ["demo lab 2"])   # a second person
    ctx.counts["surveillance_lab_results"] = len(readings)


def _teams(ctx: DemoContext) -> None:
    rng = ctx.rng("demo_workflows.teams")
    names = ctx.scenario["names"]
    s = ctx.session
    teams: dict[str, VolunteerTeam] = {}
    for county in ctx.scenario["county"]:
        t = VolunteerTeam(name=f"{county['name']}食品安全志愿服务队", county=county["name"],
                          leader=person(rng, names))
        s.add(t)
        teams[county["name"]] = t
    s.flush()
    vols: dict[int, list[Volunteer]] = defaultdict(list)
    for t in teams.values():
        for _ in range(rng.randint(40, 110)):
            v = Volunteer(team_id=t.id, name=person(rng, names), active=rng.random() < 0.7)
            s.add(v)
            vols[t.id].append(v)
    s.flush()
    for ev in ctx.events:
        t = teams.get(ev.county)
        if t is None:
            continue
        s.add(EventTeam(event_id=ev.id, team_id=t.id))
        active = [v for v in vols[t.id] if v.active]
        for v in rng.sample(active, min(len(active), rng.randint(3, 8))):
            s.add(EventService(event_id=ev.id, volunteer_id=v.id,
                               hours=rng.choice([2.0, 2.5, 3.0, 3.5, 4.0, 4.5])))
    ctx.counts["volunteer_teams"] = len(teams)
    ctx.counts["volunteers"] = sum(len(v) for v in vols.values())


def _patrols(ctx: DemoContext) -> None:
    rng = ctx.rng("demo_workflows.patrols")
    names = ctx.scenario["names"]
    n = 0
    for m in ctx.markets:
        if m.kind != "night_market":
            continue
        day = ctx.start + timedelta(days=rng.randint(0, 6))
        while day <= ctx.until:
            start = ctx.local(day, 20.5)
            issues = rng.choices([0, 1, 2], [0.75, 0.2, 0.05])[0]
            ctx.session.add(PatrolLog(
                market_id=m.id, route=f"{m.name} 东门—西门全线", started_at=start,
                ended_at=start + timedelta(hours=2), staff="、".join(person(rng, names)
                                                                  for _ in range(2)),
                stalls_checked=rng.randint(20, 60), samples_tested=rng.randint(3, 10),
                issues_found=issues, issues="未公示当日快检结果" if issues else "",
                recorded_by=ctx.actor.username))
            n += 1
            day += timedelta(days=7)
    ctx.counts["patrols"] = n


@register_step(after="demo_results")
def demo_workflows(ctx: DemoContext) -> None:
    # the intake pipeline opened the cases and raised the alerts as the results were stored
    ids = sorted(ctx.result_ids)
    case_ids: list[int] = []
    alert_ids: list[int] = []
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        case_ids += ctx.session.exec(select(EnforcementCase.id)
                                     .where(EnforcementCase.result_id.in_(part))).all()
        alert_ids += ctx.session.exec(select(Alert.id).where(Alert.result_id.in_(part))).all()
    ctx.counts["cases"] = len(case_ids)
    ctx.counts["alerts"] = len(alert_ids)
    _surveillance_labs(ctx)
    _cases(ctx, sorted(case_ids))
    _alerts(ctx, sorted(alert_ids))
    _teams(ctx)
    _patrols(ctx)
    ctx.session.flush()
    changes = grades.recompute_grades(session=ctx.session, actor=ctx.actor,
                                      at=ctx.local(ctx.until, 23.9))
    ctx.counts["grade_changes"] = sum(1 for c in changes if c.changed)
    ctx.counts["grade_D"] = sum(1 for c in changes if c.grade == "D")
    ctx.session.flush()
