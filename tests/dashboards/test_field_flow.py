"""The tester's flow on the field page: samples on an analyzer's channels whose verdicts appear
when the readings arrive, typed enzyme values, and the instrument the page opens on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from dashboards.i18n import strings
from lims.field.samples import register_sample
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Batch, Instrument, Market, TestResult
from lims.models.enums import Role
from lims.security.auth import SYSTEM, Actor
from lims.storage.engine import get_engine
from lims.timeutil import now
from tests.dashboards.conftest import no_exception, run_page
from tests.dashboards.test_browser import App

TESTER = Actor("test-field_tester", Role.FIELD_TESTER)
ENZ = "ENZ-5009.199"


def _ids() -> dict:
    with Session(get_engine()) as s:
        inst = {i.serial_no: i.id for i in s.exec(select(Instrument))}
        markets = {m.code: m.id for m in s.exec(select(Market))}
    return inst | markets


def _banners(at) -> list[str]:
    return [m.value for m in at.markdown if "data-testid='verdict-banner'" in m.value]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_batch_of_two_samples_shows_each_verdict_when_the_readings_arrive(use_db, lang):
    use_db("demo")
    ids = _ids()
    with Session(get_engine()) as s:
        codes = [register_sample(session=s, actor=TESTER, commodity="芹菜", market="CG-01",
                                 vendor_stall=stall).sample_code for stall in ("01-01", "01-02")]
        s.commit()
    iid = ids["ENZ-0001"]
    at = run_page("field_test", role=Role.FIELD_TESTER, lang=lang,
                  state={"field_market": ids["CG-01"]})
    no_exception(at)
    at.selectbox(key="field_instrument").set_value(iid).run()
    assert at.subheader[0].value == strings()["batch.new"][lang].format(n=12)
    at.text_input(key=f"batch_ch_{iid}_1").input(codes[0].lower())
    at.text_input(key=f"batch_ch_{iid}_2").input(codes[1])
    at.button(key=f"batch_open_{iid}").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    with Session(get_engine()) as s:
        batch = s.exec(select(Batch).where(Batch.instrument_id == iid)).one()
        assert batch.closed_at is None
    waiting = strings()["batch.waiting"][lang]
    assert sum(waiting in i.value for i in at.info) == 2 and not _banners(at)
    # the analyzer sends channels 1 and 2, naming only itself and the channel (to the second)
    sent = now().replace(microsecond=0)
    with Session(get_engine()) as s:
        accept_readings(session=s, actor=SYSTEM, readings=[
            ReadingIn(method=ENZ, raw={"control_delta": 0.40, "sample_delta": 0.36},
                      instrument_serial="ENZ-0001", channel="01", tested_at=sent),
            ReadingIn(method=ENZ, raw={"control_delta": 0.40, "sample_delta": 0.10},
                      instrument_serial="ENZ-0001", channel="02", tested_at=sent)])
        s.commit()
    at.run()
    no_exception(at)
    banners = _banners(at)
    assert len(banners) == 2
    assert "data-verdict='negative'" in banners[0] and codes[0] in banners[0]
    assert "data-verdict='positive'" in banners[1] and codes[1] in banners[1]
    assert "阳性" in banners[1] and (lang == "zh" or "POSITIVE" in banners[1])
    # closing the batch keeps its verdicts on screen and offers a new grid
    at.button(key=f"batch_close_{batch.id}").click().run()
    no_exception(at)
    with Session(get_engine()) as s:
        assert s.get(Batch, batch.id).closed_at is not None
    after = _banners(at)   # the last batch first, then the instrument's latest reading
    assert codes[0] in after[0] and codes[1] in after[1] and codes[1] in after[2]
    assert at.text_input(key=f"batch_ch_{iid}_1").value == ""


def test_batch_with_an_unknown_code_says_which_channel(use_db):
    use_db("demo")
    ids = _ids()
    iid = ids["ENZ-0001"]
    at = run_page("field_test", role=Role.FIELD_TESTER, state={"field_market": ids["CG-01"]})
    at.selectbox(key="field_instrument").set_value(iid).run()
    at.text_input(key=f"batch_ch_{iid}_3").input("NOSUCH99")
    at.button(key=f"batch_open_{iid}").click().run()
    no_exception(at)
    assert at.error and "NOSUCH99" in at.error[0].value
    with Session(get_engine()) as s:
        assert s.exec(select(Batch)).first() is None


def test_registered_samples_go_on_free_channels(use_db):
    use_db("demo")
    at = run_page("field_test", role=Role.FIELD_TESTER, lang="en")
    at.button(key="field_register").click().run()
    first = at.session_state["field_registered"]
    at.button(key="field_register").click().run()
    second = at.session_state["field_registered"]
    iid = at.selectbox(key="field_instrument").value
    at.text_input(key=f"batch_ch_{iid}_1").input("SOMEONE1")
    at.button(key=f"batch_fill_{iid}").click().run()
    no_exception(at)
    assert [at.text_input(key=f"batch_ch_{iid}_{ch}").value for ch in (1, 2, 3, 4)] == [
        "SOMEONE1", first, second, ""]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_typed_enzyme_values_bad_then_good_on_the_registered_sample(use_db, lang):
    use_db("demo")
    at = run_page("field_test", role=Role.FIELD_TESTER, lang=lang)
    at.button(key="field_register").click().run()
    code = at.session_state["field_registered"]
    at.radio(key="field_mode").set_value("typed").run()
    no_exception(at)
    assert at.selectbox(key="typed_method").value == ENZ
    assert at.selectbox(key="field_target").value == code
    at.text_input(key="typed_control_delta").input("abc")
    at.text_input(key="typed_sample_delta").input("0.10")
    next(iter(at.get("form_submit_button"))).click().run()
    no_exception(at)
    label = strings()["typed.control_delta"][lang]
    assert len(at.error) == 1 and at.error[0].value.startswith(label)
    assert "abc" in at.error[0].value and not _banners(at)
    with Session(get_engine()) as s:
        assert s.exec(select(TestResult).where(TestResult.source == "manual")).first() is None
    at.text_input(key="typed_control_delta").input("0.40")
    at.text_input(key="typed_sample_delta").input("0.10")
    next(iter(at.get("form_submit_button"))).click().run()
    no_exception(at)
    assert not at.error
    (banner,) = _banners(at)
    assert "data-verdict='positive'" in banner and code in banner and "75.00" in banner
    with Session(get_engine()) as s:
        tr = s.exec(select(TestResult).where(TestResult.source == "manual")).one()
        assert tr.verdict == "positive" and tr.raw == {"control_delta": 0.4,
                                                         "sample_delta": 0.1}
    assert at.text_input(key="typed_control_delta").value == ""
    # the slip buttons are there; the slip itself is drawn only when one is pressed
    assert {f"slip_png_{code}", f"slip_pdf_{code}"} <= {b.key for b in at.get("download_button")}
    from dashboards import data

    assert data.slip_file("db", code, "png")().startswith(b"\x89PNG")
    assert data.slip_file("db", code, "pdf")().startswith(b"%PDF")
    assert data.slip_file("db", "NO-SUCH-CODE", "pdf")() == b""


def test_page_opens_on_the_instrument_that_is_sending(use_db):
    use_db("demo")
    ids = _ids()
    state = {"field_market": ids["CG-01"]}
    at = run_page("field_test", role=Role.FIELD_TESTER, state=state)
    no_exception(at)
    assert at.selectbox(key="field_instrument").value == ids["ENZ-0001"]   # nobody sending
    with Session(get_engine()) as s:   # the other market's analyzer sends a reading now
        accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method=ENZ, raw={"control_delta": 0.40, "sample_delta": 0.36}, market="HX-01",
            vendor_stall="01-01", commodity="芹菜", instrument_serial="ENZ-0002",
            tested_at=now() - timedelta(minutes=5))])
        s.commit()
    at = run_page("field_test", role=Role.FIELD_TESTER, lang="en", state=state)
    no_exception(at)
    assert at.selectbox(key="field_instrument").value == ids["ENZ-0002"]


@pytest.mark.browser
def test_field_flow_on_a_phone(server, browser):  # noqa: F811 (fixtures imported above)
    """At 390 px: one column, no sideways scrolling, big buttons; register a sample, put it on a
    channel, open the batch and see it waiting for its reading."""
    from playwright.sync_api import expect

    app = App(browser, server)
    app.login("zhang.field")
    app.heading("摊位快检")
    app.page.set_viewport_size({"width": 390, "height": 844})
    app.settle()
    page = app.page
    page.get_by_role("button", name="登记样品并打印标签").click()
    page.get_by_text("样品已登记").first.wait_for()
    app.settle()
    page.get_by_role("button", name="把本页登记的样品放到空闲通道").click()
    app.settle()
    first = page.get_by_label("通道 1", exact=True)
    expect(first).not_to_have_value("", timeout=20_000)   # the registered code is on channel 1
    box = first.bounding_box()
    assert box["width"] > 300    # one column: the field spans the phone's width
    page.set_viewport_size({"width": 390, "height": 3000})   # the whole page in the shot
    app.shot("field_grid_phone")
    page.set_viewport_size({"width": 390, "height": 844})
    opener = page.get_by_role("button", name="开始本批检测")
    assert opener.bounding_box()["height"] >= 44   # a finger-sized target
    assert opener.bounding_box()["width"] > 300
    opener.click()
    page.get_by_text("等待仪器读数").first.wait_for()
    app.settle()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 391, width
    page.set_viewport_size({"width": 390, "height": 3000})
    app.settle()
    app.shot("field_batch_phone")
    app.close()
