"""Aggregations behind the app's pages (lims.reporting.reports): p-chart, breakdowns, lab status."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import pytest

from lims.intake.pipeline import ReadingIn, accept_readings
from lims.models import CalibrationRecord, GridGroup, Instrument, Market, Vendor
from lims.reporting import field_reads, reports
from lims.reporting.stats import TrendFilter
from lims.security.auth import SYSTEM
from tests.conftest import TZ


def _rows(*weeks):
    return [{"market_id": 1, "market": "M", "week_start": date(2026, 1, 5) + timedelta(weeks=i),
             "tested": n, "passed": n - f, "failed": f} for i, (n, f) in enumerate(weeks)]


def test_p_chart_limits_by_hand():
    pts = reports.p_chart(_rows((100, 2), (100, 4), (50, 12)))
    # p̄ = 18/250 = 0.072; week 3: 0.072 + 3·√(0.072·0.928/50) = 0.18167, p = 0.24 → high
    assert [round(p["centre"], 4) for p in pts] == [0.072] * 3
    assert round(pts[2]["ucl"], 4) == 0.1817
    assert round(pts[0]["ucl"], 4) == 0.1495 and pts[0]["lcl"] == 0.0
    assert [p["signal"] for p in pts] == [None, None, "high"]
    flagged = reports.out_of_control(pts)
    assert flagged[0]["high"] == 1 and flagged[0]["last_high"] == date(2026, 1, 19)


def test_p_chart_low_signal_and_no_signal_when_all_equal():
    pts = reports.p_chart(_rows((400, 40), (400, 40), (400, 2)))
    assert pts[2]["signal"] == "low"
    assert not reports.out_of_control(pts)
    assert all(p["signal"] is None for p in reports.p_chart(_rows((10, 1), (10, 1))))


@pytest.fixture
def world(session):
    g = GridGroup(name="G1", county="A县", staff=[])
    session.add(g)
    session.flush()
    m1 = Market(code="A1", name="甲市场", county="A县", kind="farmers", grid_group_id=g.id)
    m2 = Market(code="B1", name="乙市场", county="B县", kind="supermarket")
    session.add_all([m1, m2])
    session.flush()
    # graded again by the pipeline from their results: m1's A (its enzyme positive waits for its
    # re-tests, the other is held: neither counts against the vendor yet), m2's (suspicious) A
    session.add_all([Vendor(market_id=m1.id, stall="01", credit_grade="A"),
                     Vendor(market_id=m2.id, stall="01", credit_grade="D")])
    inst = Instrument(serial_no="X1", model="m", kind="pesticide_analyzer", driver="profile")
    session.add(inst)
    session.flush()
    day = date(2026, 3, 2)
    session.add(CalibrationRecord(instrument_id=inst.id, kind="verification", performed_by="t",
                                  performed_at=datetime.combine(day - timedelta(days=400), time(9),
                                                                tzinfo=TZ),
                                  outcome="pass", due_date=day - timedelta(days=30)))
    readings = []
    # market A1: celery 3 negative + 1 positive; leek 2 negative; market B1: celery 1 suspicious
    spec = [("A1", "芹菜", 0.3), ("A1", "芹菜", 0.3), ("A1", "芹菜", 0.3), ("A1", "芹菜", 0.1),
            ("A1", "韭菜", 0.3), ("A1", "韭菜", 0.3), ("B1", "芹菜", 0.18)]
    for i, (mk, com, at_delta) in enumerate(spec):
        readings.append(ReadingIn(method="ENZ-5009.199", market=mk, vendor_stall="01",
                                  commodity=com, tested_at=datetime.combine(day, time(8, i),
                                                                            tzinfo=TZ),
                                  raw={"control_delta": 0.32, "sample_delta": at_delta}))
    # one held result (overdue instrument): must not count
    readings.append(ReadingIn(method="ENZ-5009.199", market="A1", vendor_stall="01",
                              commodity="芹菜", instrument_serial="X1",
                              tested_at=datetime.combine(day, time(9), tzinfo=TZ),
                              raw={"control_delta": 0.32, "sample_delta": 0.1}))
    accept_readings(session=session, actor=SYSTEM, readings=readings)
    session.commit()
    return {"m1": m1, "m2": m2, "inst": inst, "day": day}


def test_breakdown_by_commodity_and_county(session, world):
    rows = {r["name_en"]: r for r in reports.breakdown(session=session, filters=TrendFilter(),
                                                       by="commodity")}
    assert (rows["celery"]["tested"], rows["celery"]["failed"]) == (5, 2)
    assert (rows["Chinese chives"]["tested"], rows["Chinese chives"]["failed"]) == (2, 0)
    assert math.isclose(rows["celery"]["pass_rate"], 3 / 5)
    only_a = reports.breakdown(session=session, filters=TrendFilter(county="A县"), by="county")
    assert [(r["name_zh"], r["tested"]) for r in only_a] == [("A县", 6)]
    grid = reports.breakdown(session=session, filters=TrendFilter(), by="grid_group")
    assert [(r["name_zh"], r["tested"]) for r in grid] == [("G1", 6)]
    kinds = {r["key"]: r["tested"] for r in reports.breakdown(
        session=session, filters=TrendFilter(), by="market_kind")}
    assert kinds == {"farmers": 6, "supermarket": 1}
    (method,) = reports.breakdown(session=session, filters=TrendFilter(), by="method")
    assert (method["key"], method["tested"], method["failed"]) == ("ENZ-5009.199", 7, 2)
    # with a market picked, commodities are grouped from the results table: same answer
    only_m1 = {r["name_en"]: r["tested"] for r in reports.breakdown(
        session=session, filters=TrendFilter(market_ids=(world["m1"].id,)), by="commodity")}
    assert only_m1 == {"celery": 4, "Chinese chives": 2}
    with pytest.raises(ValueError, match="breakdown 'by'"):
        reports.breakdown(session=session, filters=TrendFilter(), by="vendor")


def test_instrument_status_counts_held_results(session, world):
    (row,) = reports.instrument_status(session=session, on=world["day"])
    assert row["serial_no"] == "X1" and row["state"] == "overdue" and row["held"] == 1
    assert row["days_left"] == -30


def test_field_figures_and_vendor_list(session, world):
    figs = field_reads.running_figures(session=session, on=world["day"], market_id=world["m1"].id)
    assert figs == {"negative": 5, "positive": 2, "total": 7}   # the held positive is shown too
    assert [v["credit_grade"] for v in field_reads.vendors_of(session=session,
                                                          market_id=world["m2"].id)] == ["A"]
    latest = field_reads.latest_reading(session=session, instrument_id=world["inst"].id)
    assert latest["verdict"] == "positive" and latest["status"] == "held"


class _Labels(dict):
    def __missing__(self, key):
        return key


def test_monthly_report_pdf(session, world):
    from lims.reporting import monthly_report

    d = monthly_report.gather(session=session, month=world["day"])
    assert (d.start, d.end) == (date(2026, 3, 1), date(2026, 3, 31))
    assert (d.tested, d.passed) == (7, 5)          # the held result is out
    assert [w["week_start"] for w in d.weekly] == [date(2026, 3, 2)]
    assert d.grades == {"A": 2}   # graded from their records as the results came in
    from lims.enforcement.scoring import handling_report

    month_rows = [r for r in handling_report(session=session, year=2026) if r.month == "2026-03"]
    assert d.handling["cases"] == sum(r.cases for r in month_rows)
    assert d.handling["on_time"] + d.handling["late"] + d.handling["lacking_evidence"] + \
        d.handling["open"] == d.handling["cases"]
    labels = _Labels(alerts_line="{n} {within} {share} {worst} {target}",
                     handling_line="{cases} {on_time} {late} {lacking_evidence} {open}")
    pdf = monthly_report.render_pdf(d, labels, lang="en")
    assert pdf[:5] == b"%PDF-" and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 2
    empty = monthly_report.gather(session=session, month=date(2025, 1, 1))
    assert empty.tested == 0 and empty.weekly == []
    assert monthly_report.render_pdf(empty, labels)[:5] == b"%PDF-"


def test_verification_queue(session, world):
    (row,) = reports.verification_queue(session=session)
    assert (row["why"], row["verdict"], row["market"]) == ("suspicious", "suspicious", "乙市场")
    accept_readings(session=session, actor=SYSTEM, readings=[ReadingIn(
        method="ENZ-5009.199", market="B1", vendor_stall="01", commodity="芹菜",
        tested_at=datetime.combine(world["day"], time(11), tzinfo=TZ),
        raw={"control_delta": 0.32, "sample_delta": 0.3}, retest_of_id=row["id"]),
        ReadingIn(method="ENZ-5009.199", market="A1", vendor_stall="01", commodity="韭菜",
                  tested_at=datetime.combine(world["day"], time(12), tzinfo=TZ),
                  raw={"control_delta": 0.32, "sample_delta": 0.3}, instrument_verdict="阳性")])
    session.commit()
    (row,) = reports.verification_queue(session=session)   # the re-tested one left the queue
    assert (row["why"], row["verdict"], row["instrument_verdict"]) == (
        "mismatch", "negative", "positive")


def test_bar_chart_of_a_market_at_100_percent():
    # a market with every test passed crashed the monthly PDF (negative error bar at 4/4)
    from lims.reporting.monthly_report import _bars_png
    from lims.reporting.stats import wilson_interval

    rows = []
    for passed, n in ((4, 4), (0, 3), (9, 10)):
        lo, hi = wilson_interval(passed, n)
        rows.append({"pass_rate": passed / n, "ci_low": lo, "ci_high": hi})
    png = _bars_png(rows, ["全合格", "全不合格", "九成"], {"pass_rate": "合格率"})
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
