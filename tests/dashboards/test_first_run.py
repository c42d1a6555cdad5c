"""A new county's administrator lands on the set-up page with a first-run checklist that links
to each form; once markets and stalls exist the admin lands on the usual main page (the other
steps stay on the checklist of the set-up page)."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlmodel import Session

from dashboards.i18n import strings
from lims.masterdata.status import needs_setup, setup_steps
from lims.models import Market, User, Vendor
from lims.storage.engine import get_engine
from tests.dashboards.conftest import no_exception, run_page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_first_run_checklist_then_the_main_page(use_db, lang):
    use_db("empty")
    s_ = strings()
    at = run_page(None, lang=lang)
    no_exception(at)
    assert at.title[0].value == s_["page.setup"][lang]
    links = [x.label for x in at.get("page_link")]
    assert any(s_["firstrun.markets"][lang] in x and x.startswith("❗") for x in links)
    assert any(s_["firstrun.grid_groups"][lang] in x for x in links)

    with Session(get_engine()) as s:
        m = Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers")
        s.add(m)
        s.flush()
        s.add(Vendor(market_id=m.id, stall="A01", name="张记"))
        s.add(User(username="zhang.field", role="field_tester"))
        s.commit()
        assert not needs_setup(session=s)
        assert {x.key: x.count for x in setup_steps(session=s)}["vendors"] == 1
    st.cache_data.clear()   # what the set-up forms do after saving (data.clear())
    at = run_page(None, lang=lang)
    no_exception(at)
    assert at.title[0].value == s_["page.pass_rates"][lang]
