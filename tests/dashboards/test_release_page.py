"""The release queue page (issue 19): what waits and for how long, release and send back, in
both languages."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session, select

from dashboards.i18n import strings
from lims.intake.pipeline import accept_readings
from lims.intake.readings import ReadingIn
from lims.models import AuditEvent, Market, TestResult
from lims.models.enums import Role
from lims.security.auth import SYSTEM
from lims.storage.engine import get_engine
from tests.conftest import TZ
from tests.dashboards.conftest import no_exception, run_page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_release_queue_sends_back_with_a_reason_and_releases(use_db, lang):
    use_db("demo")
    s_ = strings()
    with Session(get_engine()) as s:
        market = s.exec(select(Market).order_by(Market.id)).first()
        rid = accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="LAB-GCMS", tested_at=datetime(2026, 5, 19, 10, 0, tzinfo=TZ),
            market=market.code, commodity="芹菜", analyte="毒死蜱", raw={"value": 0.03},
            tested_by="lab-recorder")]).stored[0].result_id
        s.commit()
    at = run_page("release", role=Role.LAB_TECHNICIAN, lang=lang)
    no_exception(at)
    assert at.title[0].value == s_["page.release"][lang]
    table = at.dataframe[0].value
    assert rid in list(table["ID"])
    row = table[table["ID"] == rid].iloc[0]
    assert row[s_["release.state"][lang]] == s_["release.waiting"][lang]
    assert row[s_["release.age"][lang]] >= 0

    at.selectbox(key="send_back_id").set_value(rid)
    at.button[1].click().run()     # send back without a reason: said next to the form
    no_exception(at)
    assert s_["release.reason_needed"][lang] in [e.value for e in at.error]

    at.selectbox(key="release_id").set_value(rid)
    at.text_input(key="release_note").input("checked")
    at.button[0].click().run()
    no_exception(at)
    assert s_["release.released"][lang].format(id=rid) in [m.value for m in at.success]
    with Session(get_engine()) as s:
        assert s.get(TestResult, rid).status == "accepted"
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "result.release",
                                             AuditEvent.entity_id == str(rid))).one()
        assert ev.actor == "test-lab_technician" and ev.reason == "checked"
