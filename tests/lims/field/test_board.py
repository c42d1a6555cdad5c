"""The public result board of a market: today's and this week's results with handling."""

from datetime import timedelta

from lims.enforcement import cases
from lims.field import board
from lims.field.stand import record_field_test
from tests.lims.conftest import T0, TESTER


def test_board_today_and_week(session, world):
    monday = T0 - timedelta(days=2)          # T0 is Wednesday 2026-05-06
    record_field_test(session=session, actor=TESTER, market="M1", vendor_stall="A02",
                      commodity="黄瓜", card_colour="sky_blue", tested_at=monday)
    pos = record_field_test(session=session, actor=TESTER, market="M1", vendor_stall="A01",
                            commodity="韭菜", card_colour="unchanged", tested_at=T0)
    record_field_test(session=session, actor=TESTER, market="M1", vendor_stall="A03",
                      commodity="菠菜", card_colour="sky_blue",
                      tested_at=T0 - timedelta(days=7))       # last week: not shown
    record_field_test(session=session, actor=TESTER, market="M2", vendor_stall="B01",
                      commodity="菠菜", card_colour="sky_blue", tested_at=T0)  # other market
    cases.suspend_sale(session=session, actor=TESTER, case_id=pos.case_id,
                       at=T0 + timedelta(minutes=3))
    cases.record_disposal(session=session, actor=TESTER, case_id=pos.case_id,
                          disposal="destroyed", at=T0 + timedelta(minutes=30))
    session.commit()
    b = board.market_board(session=session, market="M1", on=T0.date())
    assert b.market == "城东农贸市场" and b.week_start == monday.date()
    assert [(r.stall, r.commodity_zh, r.verdict_zh) for r in b.today] == [("A01", "韭菜", "阳性")]
    assert [r.stall for r in b.week] == ["A01", "A02"]
    assert b.counts(b.week) == {"positive": 1, "negative": 1}
    handling = b.today[0].handling
    assert any("暂停销售" in h for h in handling) and any("监督销毁" in h for h in handling)
    assert b.week[1].handling == ()
