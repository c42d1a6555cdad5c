"""What users do on the pages: filters that change and carry over, the field test, reviewing held
results, editing reference data, logging in, the monthly report."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from lims.models import AuditEvent, Market, Sample, TestResult, Threshold, User
from lims.models.enums import Role
from lims.security.auth import Actor
from lims.storage.engine import get_engine
from tests.dashboards.conftest import APP, no_exception, run_page


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_market_filter_changes_the_figures_and_carries_to_other_pages(use_db):
    use_db("demo")
    at = run_page("pass_rates")
    all_tested = _metric(at, "检测数")
    with Session(get_engine()) as s:
        night = s.exec(select(Market).where(Market.name == "河西夜市")).one().id
    at.multiselect(key="f_markets").set_value([night]).run()
    no_exception(at)
    one_tested = _metric(at, "检测数")
    assert int(one_tested.replace(",", "")) < int(all_tested.replace(",", ""))
    at.switch_page("views/breakdowns.py").run()
    no_exception(at)
    assert at.multiselect(key="f_markets").value == [night]
    at.switch_page("views/heatmap.py").run()
    no_exception(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["y"] == ["河西夜市"]


def test_county_filter_limits_the_breakdown(use_db):
    use_db("demo")
    at = run_page("breakdowns")
    at.segmented_control(key="breakdown_by").set_value("county").run()
    no_exception(at)
    assert set(at.dataframe[0].value.iloc[:, 0]) == {"城关区", "河西县"}
    at.selectbox(key="f_county").set_value("河西县").run()
    no_exception(at)
    assert list(at.dataframe[0].value.iloc[:, 0]) == ["河西县"]


def test_p_chart_flags_the_market_with_a_spike(use_db):
    use_db("demo")
    at = run_page("control_chart")
    no_exception(at)
    assert at.error and "1 个市场" in at.error[0].value
    assert list(at.dataframe[0].value.iloc[:, 0]) == ["河西夜市"]
    # the flagged market is picked first; its chart is drawn from its own weeks only, and
    # shows as many weeks, with as many points above the upper limit, as the table says
    weeks, high = at.dataframe[0].value.iloc[0, 2], at.dataframe[0].value.iloc[0, 1]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    p = spec["data"][3]
    assert len(p["y"]) == weeks
    assert sum(1 for y, u in zip(p["y"], spec["data"][0]["y"], strict=True) if y > u) == high
    with Session(get_engine()) as s:   # a market in control
        other = s.exec(select(Market.id).where(Market.name != "河西夜市")).first()
    at.selectbox(key="pchart_market").set_value(other).run()
    no_exception(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][3]["y"] and all(y <= u + 1e-9 for y, u in
                                         zip(spec["data"][3]["y"], spec["data"][0]["y"], strict=True))


def test_field_card_positive_shows_the_words_and_opens_a_case(use_db):
    use_db("demo")
    at = run_page("field_test", role=Role.FIELD_TESTER)
    no_exception(at)
    at.radio(key="field_mode").set_value("card").run()
    at.radio(key="card_colour").set_value("unchanged")
    next(iter(at.get("form_submit_button"))).click().run()
    no_exception(at)
    html = "".join(m.value for m in at.markdown)
    assert "data-verdict='positive'" in html and "阳性" in html
    assert at.warning and "立案" in at.warning[0].value
    with Session(get_engine()) as s:
        tr = s.exec(select(TestResult).where(TestResult.source == "field")
                    .order_by(TestResult.id.desc())).first()
        assert tr is not None and tr.verdict == "positive" and tr.tested_by == "test-field_tester"


def test_field_card_negative_in_english_says_negative(use_db):
    use_db("demo")
    at = run_page("field_test", role=Role.FIELD_TESTER, lang="en")
    at.radio(key="field_mode").set_value("card").run()
    next(iter(at.get("form_submit_button"))).click().run()
    no_exception(at)
    html = "".join(m.value for m in at.markdown)
    assert "data-verdict='negative'" in html and "阴性" in html and "NEGATIVE" in html


def test_review_accepts_a_held_result_with_a_reason(use_db):
    use_db("demo")
    at = run_page("calibration", role=Role.LAB_TECHNICIAN)
    no_exception(at)
    ids = at.multiselect(key="review_ids")
    first = ids.options[0]
    ids.set_value([int(first)])
    at.text_input(key="review_reason").input("checked against the reference filter")
    next(iter(at.get("form_submit_button"))).click().run()
    no_exception(at)
    with Session(get_engine()) as s:
        tr = s.get(TestResult, int(first))
        assert tr.status == "accepted"


def test_review_without_reason_changes_nothing(use_db):
    use_db("demo")
    at = run_page("calibration", role=Role.LAB_TECHNICIAN)
    ids = at.multiselect(key="review_ids")
    first = int(ids.options[0])
    ids.set_value([first])
    next(iter(at.get("form_submit_button"))).click().run()
    no_exception(at)
    assert at.error
    with Session(get_engine()) as s:
        assert s.get(TestResult, first).status == "held"


def test_reference_threshold_edit_is_validated_and_audited(use_db):
    use_db("one_market")
    at = run_page("reference", role=Role.LAB_TECHNICIAN)
    no_exception(at)
    tid = at.selectbox(key="th_id").value
    at.number_input(key=f"th_value_{tid}").set_value(0.07)
    next(b for b in at.get("form_submit_button")).click().run()   # no reason
    assert at.error
    with Session(get_engine()) as s:
        assert s.get(Threshold, tid).value != 0.07
    at.number_input(key=f"th_value_{tid}").set_value(0.07)
    at.text_input(key=f"th_reason_{tid}").input("typo in the 2021 edition row")
    next(b for b in at.get("form_submit_button")).click().run()
    no_exception(at)
    with Session(get_engine()) as s:
        assert s.get(Threshold, tid).value == 0.07
        ev = s.exec(select(AuditEvent).where(AuditEvent.entity == "threshold")).all()
        assert ev and ev[-1].reason == "typo in the 2021 edition row"


def test_field_tester_sees_reference_page_refused(use_db):
    use_db("one_market")
    at = run_page("reference", role=Role.FIELD_TESTER)
    no_exception(at)
    titles = [t.value for t in at.title]
    assert "基础数据" not in titles and not at.get("form")   # no editor for a field tester


def test_login_with_a_real_account(use_db):
    use_db("one_market")
    from lims.security import users
    from lims.security.auth import SYSTEM

    with Session(get_engine()) as s:
        users.add_user(session=s, actor=SYSTEM, username="li.lab", role="lab_technician",
                       password="Correct-Horse-42-Battery")
        s.commit()
    def attempt(password: str):
        # AppTest re-runs only the page after navigation, so the sidebar's login box is
        # exercised on its own here (the browser test logs in through the whole app).
        at = AppTest.from_function(_identity_box, default_timeout=60)
        at.run()
        no_exception(at)
        at.text_input(key="login_user").input("li.lab")
        at.text_input(key="login_pw").input(password)
        next(iter(at.get("form_submit_button"))).click().run()
        no_exception(at)
        return at

    at = attempt("wrong")
    assert at.session_state["actor"] is None
    assert any("登录失败" in e.value for e in at.error)
    with Session(get_engine()) as s:
        assert s.exec(select(User).where(User.username == "li.lab")).one().failed_logins == 1
    at = attempt("Correct-Horse-42-Battery")
    assert at.session_state["actor"].username == "li.lab"
    assert at.session_state["auth_token"]
    assert not at.get("form")  # the login form is replaced by the signed-in box
    with Session(get_engine()) as s:
        assert s.exec(select(User).where(User.username == "li.lab")).one().failed_logins == 0


def _identity_box():
    from dashboards import identity

    identity.sidebar()


def test_monthly_report_makes_a_pdf(use_db):
    use_db("demo")
    at = run_page("report", role=Role.MANAGER)
    at.button(key="report_make").click().run()
    no_exception(at)
    month, county, lang, (pdf, by_market, _) = at.session_state["report_pdf"]
    assert pdf[:5] == b"%PDF-" and len(pdf) > 20_000   # has chart images
    assert {r["name_zh"] for r in by_market} >= {"东门农贸市场", "河西夜市"}


def test_public_result_page_from_the_slip_code(use_db, demo_code):
    use_db("demo")
    at = run_page("public", role=None, state={})
    at.text_input(key="public_code").input(demo_code).run()
    no_exception(at)
    assert any(demo_code in t.value for t in at.title)
    html = "".join(m.value for m in at.markdown)
    assert "阳性" in html


def test_report_page_exports_the_months_results(use_db):
    use_db("demo")
    at = run_page("report", role=Role.MANAGER)
    at.radio(key="report_fmt").set_value("csv")
    at.button(key="report_results").click().run()
    no_exception(at)
    label = at.get("download_button")[-1].proto.label
    n = int(label.split("(")[1].split()[0])
    with Session(get_engine()) as s:
        from dashboards.filters import local_today
        from lims.reporting.monthly_report import month_bounds

        first, last = month_bounds(local_today())
        expected = len(s.exec(select(TestResult.id).where(
            TestResult.local_date >= first, TestResult.local_date <= last)).all())
    assert n == expected and n > 0


def test_case_step_recorded_from_the_cases_page(use_db):
    use_db("demo")
    from lims.models import EnforcementCase

    at = run_page("cases", role=Role.LAB_TECHNICIAN)
    no_exception(at)
    case_id = at.selectbox(key="case_pick").value
    at.button(key="case_suspend").click().run()
    no_exception(at)
    assert not at.error, at.error[0].value
    with Session(get_engine()) as s:
        case = s.get(EnforcementCase, case_id)
        assert case.sale_suspended_at is not None
    steps = "".join(m.value for m in at.markdown)
    assert "暂停销售" in steps


def test_calibration_certificate_from_the_lab_page(use_db):
    use_db("demo")
    at = run_page("calibration", role=Role.LAB_TECHNICIAN)
    no_exception(at)   # the first instrument's verification passed: a certificate can be made
    at.button(key="cal_cert_make").click().run()
    no_exception(at)
    assert any(b.proto.label == "下载校准证书 PDF" for b in at.get("download_button"))


def test_demo_mode_role_picker_without_accounts(use_db):
    use_db("demo")   # marked by `lims demo`, no user account: the local demo mode
    at = AppTest.from_function(_identity_box, default_timeout=60)
    at.run()
    no_exception(at)
    assert "本地演示模式" in "".join(m.value for m in at.markdown)
    picker = at.selectbox(key="demo_role")
    assert "系统管理员" not in picker.options and "管理人员" in picker.options
    picker.set_value(Role.MANAGER).run()
    no_exception(at)
    assert at.session_state["actor"].role is Role.MANAGER
    assert at.session_state["actor"].username == "demo-manager"


def test_demo_mode_offers_no_account_management(use_db):
    use_db("demo")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "zh"
    at.session_state["actor"] = Actor("demo-admin", Role.ADMIN)   # a forged/stale demo admin
    at.run()
    no_exception(at)
    assert at.session_state["actor"] is None   # the picker never makes an admin
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "zh"
    at.session_state["actor"] = Actor("demo-admin", Role.ADMIN)
    at.switch_page("views/users.py").run()
    no_exception(at)
    assert not at.get("form") and not at.text_input
    with Session(get_engine()) as s:
        assert s.exec(select(User)).first() is None


@pytest.mark.parametrize("kind", ["empty", "one_market"])
def test_empty_production_database_asks_for_lims_init(use_db, kind):
    use_db(kind)   # no user account and not a demo database
    at = AppTest.from_function(_identity_box, default_timeout=60)
    at.run()
    no_exception(at)
    assert not at.get("selectbox") and not at.get("form")   # no role picker, no login form
    assert at.session_state["actor"] is None
    assert any("lims init" in i.value for i in at.info)
    for page in (None, "views/users.py"):
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state["lang"] = "en"
        at.session_state["actor"] = Actor("demo-admin", Role.ADMIN)
        if page:
            at.switch_page(page)
        at.run()
        no_exception(at)
        assert at.session_state["actor"] is None
        assert [i.value for i in at.info] == [
            "No account yet: create the first admin with `lims init` on the server, then log in."]
        assert not at.get("form") and not at.text_input and not at.selectbox
    with Session(get_engine()) as s:
        assert s.exec(select(User)).first() is None


def test_field_page_registers_a_sample_and_offers_its_label(use_db):
    use_db("demo")
    at = run_page("field_test", role=Role.FIELD_TESTER)
    no_exception(at)
    at.button(key="field_register").click().run()
    no_exception(at)
    code = at.session_state["field_registered"]
    assert any(code in s.value for s in at.success)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "标签 PDF（58 mm）" in labels and "标签 PDF（A4）" in labels
    with Session(get_engine()) as s:
        sample = s.exec(select(Sample).where(Sample.code == code)).one()
        assert sample.vendor_id is not None and sample.taken_by.endswith("field_tester")


def test_user_text_is_plain_text_on_the_public_and_cases_pages(use_db):
    use_db("demo")
    evil = "![x](http://evil.example/p.png) http://evil.example www.evil.example"
    at = run_page("public", role=None, state={})
    at.text_input(key="public_code").input(evil[:20]).run()
    no_exception(at)
    shown = "".join(e.value for e in at.error)
    assert not re.search(r"(?<!\\)[\](:]", shown) and "\\!\\[X\\]\\(HTTP\\:" in shown
    at = run_page("cases", role=Role.LAB_TECHNICIAN)
    at.text_input(key=f"case_note_{at.selectbox(key='case_pick').value}").input(evil)
    at.button(key="case_suspend").click().run()
    no_exception(at)
    steps = "".join(m.value for m in at.markdown)
    assert "\\!\\[x\\]\\(http\\:\\/\\/evil\\.example" in steps
    assert "http://" not in steps and "www.evil" not in steps
    assert not re.search(r"(?<!\\)\]\(", steps)
