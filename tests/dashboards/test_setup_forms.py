"""The set-up forms for grid groups, teams, volunteers, instruments and kit lots (issues 13, 14):
a good save lands through the service (checked by reading it back), bad input is named next to
the form without an exception box, in Chinese and English; managers work in their own county."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from dashboards.i18n import strings
from lims.masterdata import kits, records
from lims.models import GridGroup, Instrument, Market, User, Volunteer
from lims.models.enums import Role
from lims.security import users
from lims.security.auth import SYSTEM
from lims.storage.engine import get_engine
from tests.dashboards.conftest import PASSWORD, no_exception, run_page


def S(key: str, lang: str) -> str:
    return strings()[key][lang]


def _submit(at, form: str, lang: str):
    at.button(key=f"FormSubmitter:{form}-{S('setup.save', lang)}").click().run()
    no_exception(at)
    return at


def _field(at, key: str, lang: str):
    return next(w for w in at.text_input if w.label == S(key, lang))


def _bad_columns(at, lang: str) -> set[str]:
    assert at.error[0].value.startswith(S("setup.bad", lang).split("{")[0])
    col = S("setup.column", lang)
    (table,) = [d.value for d in at.dataframe if col in d.value.columns]
    return set(table[col])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_grid_group_form_saves_and_refuses_bad_input(use_db, lang):
    use_db("empty")
    at = _submit(run_page("setup_people", lang=lang), "group_form_None", lang)
    assert _bad_columns(at, lang) == {"code", "name", "county"}
    with Session(get_engine()) as s:
        assert records.list_grid_groups(session=s) == []
    at = run_page("setup_people", lang=lang)
    _field(at, "setup.code", lang).set_value("G1")
    _field(at, "setup.name", lang).set_value("城关网格")
    _field(at, "setup.county", lang).set_value("城关区")
    _field(at, "setup.officer", lang).set_value("王伟")
    at = _submit(at, "group_form_None", lang)
    assert at.success[0].value == S("setup.saved", lang).format(outcome=S("setup.created", lang))
    with Session(get_engine()) as s:
        (g,) = records.list_grid_groups(session=s)
    assert (g.code, g.officer, g.active) == ("G1", "王伟", True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_team_and_volunteer_forms(use_db, lang):
    use_db("empty")
    at = run_page("setup_people", lang=lang)
    assert at.info[0].value == S("setup.no_teams", lang)
    teams_form = "team_form_None"
    _submit(at, teams_form, lang)
    assert _bad_columns(at, lang) == {"name"}
    at = run_page("setup_people", lang=lang)
    names = [w for w in at.text_input if w.label == S("setup.name", lang)]
    names[1].set_value("青山志愿队")   # [0] is the grid group form's
    at = _submit(at, teams_form, lang)
    names = [w for w in at.text_input if w.label == S("setup.name", lang)]
    names[-1].set_value("小王")
    at = _submit(at, "volunteer_form_青山志愿队_None", lang)
    with Session(get_engine()) as s:
        (team,) = records.list_teams(session=s)
        (v,) = records.list_volunteers(session=s, team_id=team.id)
    assert (team.name, v.name, v.active) == ("青山志愿队", "小王", True)
    at.selectbox(key="svol_pick").set_value("小王").run()
    at.button(key="svol_active").click().run()
    no_exception(at)
    with Session(get_engine()) as s:
        assert s.exec(select(Volunteer)).one().active is False


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_instrument_form_checks_the_driver_then_saves(use_db, lang):
    use_db("empty")
    at = run_page("setup_instruments", lang=lang)
    _field(at, "setup.serial", lang).set_value("SN-9")
    _field(at, "setup.model", lang).set_value("RP-410")
    _field(at, "setup.driver", lang).set_value("nosuchdriver")
    at = _submit(at, "instrument_form_None", lang)
    assert _bad_columns(at, lang) == {"driver"}
    with Session(get_engine()) as s:
        assert s.exec(select(Instrument)).all() == []
    _field(at, "setup.driver", lang).set_value("astm")
    at = _submit(at, "instrument_form_None", lang)
    with Session(get_engine()) as s:
        (i,) = records.list_instruments(session=s)
    assert (i.serial_no, i.driver, i.market_id, i.calibration_interval_days) == \
        ("SN-9", "astm", None, 365)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_kit_lot_form_saves_and_refuses_bad_input(use_db, lang):
    use_db("empty")
    at = _submit(run_page("setup_instruments", lang=lang), "kit_form_None", lang)
    assert _bad_columns(at, lang) == {"kit", "lot"}
    _field(at, "setup.kit", lang).set_value("CARD-A")
    _field(at, "setup.lot", lang).set_value("L2605")
    _field(at, "setup.maker", lang).set_value("快检生物")
    at = _submit(at, "kit_form_None", lang)
    no_exception(at)
    with Session(get_engine()) as s:
        (lot,) = kits.list_lots(session=s)
    assert (lot.kit, lot.lot, lot.maker, lot.active) == ("CARD-A", "L2605", "快检生物", True)
    assert lot.expires_on.isoformat() == "2027-05-20"   # default: a year after the pinned day


def _manager_in(county: str) -> None:
    with Session(get_engine()) as s:
        g = GridGroup(code="G1", name="城关网格", county=county)
        s.add(g)
        s.flush()
        users.add_user(session=s, actor=SYSTEM, username="test-manager", role=Role.MANAGER,
                       password=PASSWORD)
        s.exec(select(User).where(User.username == "test-manager")).one().grid_group_id = g.id
        s.add(Market(code="FAR", name="远方市场", county="青山县", kind="farmers"))
        s.commit()


def test_managers_set_up_their_own_county_only(use_db):
    use_db("empty")
    _manager_in("城关区")
    at = run_page("setup", role=Role.MANAGER)
    no_exception(at)
    assert at.title[0].value == S("page.setup", "zh")
    assert S("setup.workbook", "zh") not in [x.value for x in at.subheader]   # admins only
    assert at.selectbox(key="sm_pick").options == []   # the other county's market not listed
    _field(at, "setup.code", "zh").set_value("M1")
    _field(at, "setup.name", "zh").set_value("城东农贸市场")
    at = _submit(at, "market_form_None", "zh")   # county defaults to the manager's
    _field(at, "setup.code", "zh").set_value("M2")
    _field(at, "setup.name", "zh").set_value("别处市场")
    _field(at, "setup.county", "zh").set_value("青山县")
    at = _submit(at, "market_form_None", "zh")
    assert "own county" in at.error[0].value
    with Session(get_engine()) as s:
        assert sorted(m.code for m in s.exec(select(Market))) == ["FAR", "M1"]
        assert s.exec(select(Market).where(Market.code == "M1")).one().county == "城关区"


def test_managers_without_a_grid_group_are_told_why(use_db):
    use_db("empty")
    at = run_page("setup", role=Role.MANAGER)
    no_exception(at)
    assert at.warning[0].value == S("setup.no_county", "zh")
