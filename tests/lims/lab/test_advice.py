"""Next-test advice after a negative enzyme screen (issue 19, ``lims.lab.advice``)."""

from datetime import timedelta

from lims.field.slips import slip_lines
from lims.intake.pipeline import ReadingIn, accept_readings
from lims.lab.advice import advice_for_result, advice_for_sample
from lims.security.auth import SYSTEM
from tests.lims.conftest import T0


def _card(session, commodity, colour, i=0):
    rep = accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-CARD", raw={"colour": colour}, market="M1", vendor_stall="A01",
        commodity=commodity, tested_at=T0 + timedelta(minutes=i))])
    session.commit()
    return rep.stored[0]


def test_advice_for_a_blind_spot_commodity_only(session, world):
    celery = _card(session, "芹菜", "sky_blue")            # chlorpyrifos has a celery MRL
    tip = advice_for_result(session=session, result_id=celery.result_id)
    assert tip is not None and tip.commodity_zh == "芹菜"
    assert "毒死蜱" in {p.name_zh for p in tip.blind_spots} and tip.needs_lab
    assert tip.caveat("zh").startswith("未检出(本法对") and tip.caveat("zh").endswith(
        "不敏感,建议胶体金/送检)")
    assert "cannot see" in tip.caveat("en")
    # the slip says so too, in both languages
    lines, verdict, _url = slip_lines(session=session, code=celery.sample_code)
    assert verdict == "negative" and any("未检出" in ln for ln in lines)
    assert any("cannot see" in ln for ln in lines)
    # a cucumber has a gold strip for its likely neonicotinoids
    cucumber = _card(session, "黄瓜", "sky_blue", 1)
    assert "KJ-GOLD-IMI" in advice_for_sample(session=session, code=cucumber.sample_code).gold_methods
    # no advice: an apple (no blind-spot pesticide with a limit on it), or a positive screen
    apple = _card(session, "苹果", "sky_blue", 2)
    assert advice_for_result(session=session, result_id=apple.result_id) is None
    lines, _v, _u = slip_lines(session=session, code=apple.sample_code)
    assert not any("未检出" in ln for ln in lines)
    positive = _card(session, "芹菜", "unchanged", 3)
    assert advice_for_result(session=session, result_id=positive.result_id) is None
