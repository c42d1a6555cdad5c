"""The workflows demo step: cases followed up, alerts answered, teams, patrols, grades."""

from datetime import date

from sqlmodel import Session, select

from lims.demo.loader import run_demo
from lims.enforcement import alerts, cases
from lims.models import Alert, EnforcementCase, EventTeam, OutreachEvent, VendorGradeHistory
from lims.models.enums import Role
from lims.outreach import events
from lims.reporting import agreement
from lims.security.auth import Actor

STEPS = ["demo_places", "demo_instruments", "demo_events", "demo_results", "demo_workflows"]


def test_demo_step_walks_the_workflows(sqlite_engine):
    with Session(sqlite_engine) as s:
        rep = run_demo(session=s, actor=Actor("admin", Role.ADMIN), markets_per_county=1,
                       days=30, until=date(2026, 6, 30), only=STEPS)
        s.commit()
        assert rep.steps[-1] == "demo_workflows"
        all_cases = s.exec(select(EnforcementCase)).all()
        # a case per final positive: not one held for review, awaiting or failing its re-tests
        c = rep.counts
        final = (c["screens_positive"] - c["positives_held"] - c["positives_retest_pending"]
                 - c["positives_retest_not_confirmed"])
        assert len(all_cases) == c["cases"] == final > 0
        assert c["positives_retest_confirmed"] > 0   # enzyme positives confirmed by re-tests
        closed = [c for c in all_cases if c.status == "closed"]
        assert len(closed) == rep.counts["cases_closed"] > 0
        v = cases.case_view(session=s, case_id=closed[0].id)
        assert [st.kind for st in v.steps][:2] == ["opened", "vendor_notified"]
        assert v.steps[-1].kind == "closed" and v.disposal
        assert all(c.result_received_at is not None for c in all_cases)
        n_alerts = len(s.exec(select(Alert)).all())
        assert n_alerts == rep.counts["alerts"] >= len(all_cases)
        rows = alerts.response_report(session=s, year=2026)
        assert sum(r.alerts for r in rows) == n_alerts
        assert all(r.worst_minutes is None or r.worst_minutes >= r.median_minutes for r in rows)
        assert 0 < sum(r.within_target for r in rows) < n_alerts
        linked = {lk.event_id for lk in s.exec(select(EventTeam))}
        assert linked == {e.id for e in s.exec(select(OutreachEvent))}
        yearly = events.team_report(session=s, year=2026, by_month=False)
        assert len(yearly) == rep.counts["volunteer_teams"]
        assert sum(r.events for r in yearly) == rep.counts["events"]
        assert all(r.service_hours > 0 for r in yearly)
        # every vendor graded (the pipeline grades as results arrive, the demo once more at the end)
        graded = {h.vendor_id for h in s.exec(select(VendorGradeHistory))}
        assert len(graded) == rep.counts["vendors"]
        tables = agreement.agreement_report(session=s)
        assert any(t.stats.n22 > 0 and t.stats.n11 + t.stats.n21 > 0 for t in tables)
