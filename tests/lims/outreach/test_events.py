"""Outreach figures per team and period, CSV export, patrols, grid ordering."""

import csv
import io
from datetime import timedelta

import pytest

from lims.errors import ValidationFailed
from lims.field.stand import record_field_test
from lims.outreach import events, patrols
from tests.lims.conftest import T0, TESTER


@pytest.fixture
def teams(session, world):
    red = events.create_team(session=session, actor=TESTER, name="红马甲志愿服务队", county="城关区")
    blue = events.create_team(session=session, actor=TESTER, name="计量志愿服务队")
    vols = [events.add_volunteer(session=session, actor=TESTER, team_id=red.id, name=n)
            for n in ("甲", "乙", "丙")]
    events.set_volunteer_active(session=session, actor=TESTER, volunteer_id=vols[2].id,
                                active=False)
    bvol = events.add_volunteer(session=session, actor=TESTER, team_id=blue.id, name="丁")
    return red, blue, vols, bvol


def test_team_figures_per_month_and_year(session, world, teams):
    red, blue, vols, bvol = teams
    may = events.create_event(session=session, actor=TESTER, name="进社区", kind="community",
                              starts_at=T0, ends_at=T0 + timedelta(hours=3),
                              team_ids=[red.id, blue.id], people_served=120, talks_given=1)
    june = events.create_event(session=session, actor=TESTER, name="进校园", kind="school",
                               starts_at=T0 + timedelta(days=31), team_ids=[red.id],
                               people_served=80)
    for v, h in zip(vols, (3, 3, 2.5), strict=True):
        events.record_service(session=session, actor=TESTER, event_id=may.id, volunteer_id=v.id,
                              hours=h)
    events.record_service(session=session, actor=TESTER, event_id=may.id,
                          volunteer_id=bvol.id, hours=4)
    events.record_service(session=session, actor=TESTER, event_id=june.id,
                          volunteer_id=vols[0].id, hours=2)
    events.record_service(session=session, actor=TESTER, event_id=june.id,
                          volunteer_id=vols[0].id, hours=2.5)   # corrected figure replaces 2
    for colour in ("sky_blue", "unchanged"):
        record_field_test(session=session, actor=TESTER, event_id=may.id, resident_purchase=True,
                          commodity="菠菜", card_colour=colour, tested_at=T0)
    with pytest.raises(ValidationFailed, match="hours"):
        events.record_service(session=session, actor=TESTER, event_id=may.id,
                              volunteer_id=vols[1].id, hours=30)
    session.commit()

    monthly = {(r.team, r.period): r for r in events.team_report(session=session, year=2026)}
    r = monthly[("红马甲志愿服务队", "2026-05")]
    assert (r.events, r.service_hours, r.volunteers_served, r.people_served, r.samples_tested,
            r.talks) == (1, 8.5, 3, 120, 2, 1)
    assert (r.registered_volunteers, r.active_volunteers) == (3, 2)
    assert monthly[("红马甲志愿服务队", "2026-06")].service_hours == 2.5
    assert monthly[("计量志愿服务队", "2026-05")].service_hours == 4
    yearly = events.team_report(session=session, year=2026, by_month=False)
    red_year = next(x for x in yearly if x.team == "红马甲志愿服务队")
    assert (red_year.period, red_year.events, red_year.service_hours,
            red_year.people_served) == ("2026", 2, 11.0, 200)
    assert events.team_report(session=session, year=2025) == []

    text = events.report_csv(yearly)
    rows = {r["team"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["红马甲志愿服务队"]["service_hours"] == "11.0"
    assert rows["计量志愿服务队"]["events"] == "1"
    assert set(rows["计量志愿服务队"]) >= {"events", "service_hours", "people_served", "instruments_verified"}


def test_event_input_is_checked(session, world, teams):
    red = teams[0]
    with pytest.raises(ValidationFailed) as e:
        events.create_event(session=session, actor=TESTER, name="x", kind="party",
                            starts_at=T0.replace(tzinfo=None), team_ids=[red.id, 999])
    msg = str(e.value)
    assert "kind" in msg and "starts_at" in msg and "team_ids" in msg


def test_patrol_log(session, world):
    p = patrols.record_patrol(session=session, actor=TESTER, route="北门夜市 1–40 号摊",
                             started_at=T0.replace(hour=20), market_id=world["m3"].id,
                             stalls_checked=40, samples_tested=6, issues_found=1,
                             issues="一摊未公示检测结果")
    assert patrols.list_patrols(session=session, market_id=world["m3"].id) == [p]
    with pytest.raises(ValidationFailed, match="stalls_checked"):
        patrols.record_patrol(session=session, actor=TESTER, route="r", started_at=T0,
                             stalls_checked=-1)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64     # the signature is what is checked


def test_patrol_photos_are_kept_content_addressed(session, world, tmp_path, monkeypatch):
    from lims.metrology.attachments import read_file

    monkeypatch.setenv("LIMS_VAR_DIR", str(tmp_path))
    p = patrols.record_patrol(session=session, actor=TESTER, route="北门夜市",
                              started_at=T0.replace(hour=20), market_id=world["m3"].id,
                              photos=[(PNG, "stall7.png"), (PNG, "same-again.png")])
    assert len(p.photos) == 2 and p.photos[0]["path"] == p.photos[1]["path"]   # stored once
    assert p.photos[0]["path"].startswith("attachments/") and p.photos[0]["mime"] == "image/png"
    assert read_file(p.photos[0]["path"], p.photos[0]["sha256"]) == PNG
    with pytest.raises(ValidationFailed, match="photos: not a PNG or JPEG file"):
        patrols.record_patrol(session=session, actor=TESTER, route="r", started_at=T0,
                              photos=[(b"%PDF-1.4 not a photo", "x.pdf")])
    with pytest.raises(ValidationFailed, match="at most 6"):
        patrols.record_patrol(session=session, actor=TESTER, route="r", started_at=T0,
                              photos=[(PNG, f"{i}.png") for i in range(7)])


def test_grid_group_sees_its_markets_first(session, world):
    codes = [m.code for m in events.markets_in_grid_order(session=session, username="west")]
    assert codes[0] == "M2" and set(codes) == {"M1", "M2", "M3"}
    codes = [m.code for m in events.markets_in_grid_order(session=session,
                                                          grid_group_id=world["g1"].id)]
    assert codes[0] == "M1"


def test_household_instruments_verified_are_counted(session, world, teams):
    from lims.models.calibration import MeterCheck

    red = teams[0]
    ev = events.create_event(session=session, actor=TESTER, name="进社区校验血压计",
                             kind="community", starts_at=T0, team_ids=[red.id])
    for kind, outcome in (("bp_meter", "pass"), ("body_scale", "fail"), ("bp_meter", "pass")):
        session.add(MeterCheck(event_id=ev.id, kind=kind, outcome=outcome, checked_at=T0))
    session.commit()
    (row,) = events.team_report(session=session, year=2026, by_month=False)
    assert row.instruments_verified == 3 and row.events == 1


def test_event_detail_and_lists(session, world, teams):
    red, blue, vols, bvol = teams
    ev = events.create_event(session=session, actor=TESTER, name="进农村", kind="village",
                             starts_at=T0, team_ids=[blue.id, red.id])
    events.record_service(session=session, actor=TESTER, event_id=ev.id, volunteer_id=vols[0].id,
                          hours=3)
    events.record_service(session=session, actor=TESTER, event_id=ev.id, volunteer_id=bvol.id,
                          hours=1.5)
    record_field_test(session=session, actor=TESTER, event_id=ev.id, resident_purchase=True,
                      commodity="菠菜", card_colour="sky_blue", tested_at=T0)
    d = events.event_detail(session=session, event_id=ev.id)
    assert d.teams == sorted(["红马甲志愿服务队", "计量志愿服务队"])
    assert sorted(d.service) == [("丁", 1.5), ("甲", 3.0)]
    assert (d.service_hours, d.samples_tested, d.instruments_verified) == (4.5, 1, 0)
    summary = {t.name: (t.registered_volunteers, t.active_volunteers)
               for t in events.list_teams(session=session)}
    assert summary == {"红马甲志愿服务队": (3, 2), "计量志愿服务队": (1, 1)}
    assert [e.id for e in events.list_events(session=session, team_id=blue.id)] == [ev.id]
    assert events.list_events(session=session, year=2025) == []
