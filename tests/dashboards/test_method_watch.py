"""Issue 19 pages: the lab's method watch (kit lot alerts, instrument clocks), the agreement page
grouped by kit lot, and the next-test advice beside a negative enzyme screen — zh and en."""

import pytest
from sqlmodel import Session, select

from dashboards.i18n import strings
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import Market
from lims.models.enums import Role
from lims.security.auth import SYSTEM
from lims.storage.engine import get_engine
from tests.dashboards.conftest import no_exception, run_page
from tests.lims.conftest import T0
from tests.lims.lab.test_watch import PLAN, _lots, _screen_and_confirm
from tests.lims.metrology.test_clocks import _port_readings


def _seed_watch() -> None:
    with Session(get_engine(), expire_on_commit=False) as s:
        _lots(s)
        _screen_and_confirm(s, PLAN)            # raises the alert of lot CARD-K/L1
        m1 = s.exec(select(Market).where(Market.code == "M1")).one()
        _port_readings(s, {"m1": m1}, "FAST-1", [12.0, 12.5, 11.8])   # 12 min ahead


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_method_watch_page(use_db, lang):
    use_db("one_market")
    _seed_watch()
    at = run_page("method_watch", role=Role.LAB_TECHNICIAN, lang=lang)
    no_exception(at)
    assert at.title[0].value == strings()["page.method_watch"][lang]
    assert any("CARD-K/L1" in e.value and "40" in e.value for e in at.error)
    assert any("FAST-1" in w.value for w in at.warning)
    at.button(key=at.button[0].key).click().run()   # acknowledge the alert
    no_exception(at)
    assert not at.error and any("CARD-K/L1" in i.value for i in at.info)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_agreement_by_kit_lot(use_db, lang):
    use_db("one_market")
    _seed_watch()
    at = run_page("agreement", role=Role.MANAGER, lang=lang, state={"agree_by": "lot"})
    no_exception(at)
    table = at.dataframe[0].value
    assert strings()["agree.by_lot"][lang] in table.columns
    assert set(table[strings()["agree.by_lot"][lang]]) == {"CARD-K/L1", "CARD-K/L2"}
    assert any("CARD-K/L1" in e.value for e in at.error)    # the open lab alert


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_field_page_advises_after_a_blind_spot_negative(use_db, lang):
    use_db("one_market")
    with Session(get_engine()) as s:
        codes = [accept_readings(session=s, actor=SYSTEM, readings=[ReadingIn(
            method="ENZ-CARD", raw={"colour": "sky_blue"}, market="M1", vendor_stall="A01",
            commodity=c, tested_at=T0)]).stored[0].sample_code for c in ("芹菜", "苹果")]
        s.commit()
    last = {"verdict": "negative", "case": None, "grade": None, "value": None, "unit": None}
    word = "未检出" if lang == "zh" else "not detected"
    at = run_page("field_test", role=Role.FIELD_TESTER, lang=lang,
                  state={"field_mode": "card", "field_last": {**last, "code": codes[0]}})
    no_exception(at)
    banner = next(m.value for m in at.markdown if "verdict-banner" in m.value)
    assert word in banner
    assert any("KJ" not in w.value and strings()["advice.lab"][lang] in w.value
               for w in at.warning)
    at = run_page("field_test", role=Role.FIELD_TESTER, lang=lang,
                  state={"field_mode": "card", "field_last": {**last, "code": codes[1]}})
    no_exception(at)
    banner = next(m.value for m in at.markdown if "verdict-banner" in m.value)
    assert word not in banner
    at = run_page("public", role=None, lang=lang)
    at.text_input(key="public_code").input(codes[0]).run()
    no_exception(at)
    assert any("未检出" in w.value and "not detected" in w.value for w in at.warning)
