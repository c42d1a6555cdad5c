"""A service's refusal (a LimsError) is shown as an error box on the page, never a traceback."""

from __future__ import annotations

from sqlmodel import Session, select

from lims.models import TestResult, User
from lims.models.enums import Role
from lims.storage.engine import get_engine
from tests.dashboards.conftest import no_exception, run_page


def test_voiding_a_held_result_without_a_reason_shows_an_error(use_db):
    use_db("demo")
    at = run_page("calibration", role=Role.LAB_TECHNICIAN)
    ids = at.multiselect(key="review_ids")
    first = int(ids.options[0])
    ids.set_value([first])
    at.radio(key="review_decision").set_value("void")
    at.text_input(key="review_reason").input("   ")
    next(iter(at.get("form_submit_button"))).click().run()
    no_exception(at)
    assert any("reason" in e.value for e in at.error), [e.value for e in at.error]
    with Session(get_engine()) as s:
        assert s.get(TestResult, first).status == "held"


def test_voiding_from_the_queue_without_a_reason_shows_an_error(use_db):
    use_db("demo")
    with Session(get_engine()) as s:   # put one recorded result in the queue: a mismatch
        tr = s.exec(select(TestResult).where(TestResult.status == "recorded")).first()
        tr.verdict_mismatch = True
        s.add(tr)
        s.commit()
    at = run_page("queue", role=Role.LAB_TECHNICIAN)
    no_exception(at)
    rid = at.selectbox(key="queue_void_id").value
    next(iter(at.get("form_submit_button"))).click().run()
    no_exception(at)
    assert any(f"reason: required to void test result {rid}" in e.value for e in at.error)
    with Session(get_engine()) as s:
        assert s.get(TestResult, rid).status != "voided"


def test_adding_a_user_with_a_bad_name_shows_an_error(use_db):
    use_db("one_market")
    at = run_page("users", role=Role.ADMIN)
    no_exception(at)
    at.text_input(key="ua_name").input("has space")
    at.text_input(key="ua_pw").input("Correct-Horse-9-Battery")
    next(iter(at.get("form_submit_button"))).click().run()
    no_exception(at)
    assert any("username 'has space'" in e.value for e in at.error), [e.value for e in at.error]
    with Session(get_engine()) as s:
        assert s.exec(select(User).where(User.username == "has space")).first() is None
