"""A field station shows how many results wait to go up; other databases show nothing."""

from __future__ import annotations

import sqlalchemy as sa

from dashboards.i18n import strings
from lims.models import AuditEvent, SyncPeer, TestResult
from lims.models.enums import ResultStatus
from lims.storage.engine import get_engine, session_scope
from lims.timeutil import now
from tests.dashboards.conftest import no_exception, run_page


def warnings(at) -> list[str]:
    return [w.value for w in at.sidebar.warning]


def test_station_banner_counts_unsent_results(use_db):
    use_db("demo")
    at = run_page("pass_rates")
    no_exception(at)
    assert not any("lims sync push" in w for w in warnings(at))   # not a station
    with session_scope(get_engine()) as s:
        t = TestResult.__table__.c
        ids = s.execute(sa.select(t.id).where(t.status != ResultStatus.VOIDED.value)
                        .order_by(t.id.desc()).limit(7)).scalars().all()
        newest_event = s.execute(sa.select(sa.func.max(AuditEvent.id))).scalar()
        s.add(SyncPeer(url="http://central.example", last_pushed_result_id=ids[-1] - 1,
                       last_pushed_event_id=newest_event, pulled_at=now()))   # changes all sent
    at = run_page("pass_rates", lang="en")
    no_exception(at)
    expected = strings()["station.unsent"]["en"].format(n=7)
    assert expected in warnings(at)
    # a change to a result the server already has (here a void) waits to go up too
    from lims.intake.corrections import void_result
    from lims.security.auth import SYSTEM

    with session_scope(get_engine()) as s:
        pushed = s.execute(sa.select(t.id).where(t.id < ids[-1] - 1,
                                                 t.status != ResultStatus.VOIDED.value)
                           .order_by(t.id.desc()).limit(1)).scalar()
        void_result(session=s, actor=SYSTEM, result_id=pushed, reason="wrong stall")
    from dashboards import station

    station._unsent.clear()
    at = run_page("pass_rates", lang="en")
    assert strings()["station.unsent"]["en"].format(n=8) in warnings(at)
