"""The vendors page and the field page show a grade's reason in the app's language (issue 16)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from lims.enforcement import grades
from lims.models import Vendor
from lims.models.enums import Role
from lims.security.auth import SYSTEM
from lims.storage.engine import get_engine
from tests.dashboards.conftest import no_exception, run_page


def _regrade_a01() -> None:
    with Session(get_engine()) as s:
        v = s.exec(select(Vendor).where(Vendor.stall == "A01")).one()
        v.credit_grade = "D"        # a grade the record does not support: the recompute moves it
        s.add(v)
        grades.recompute_grades(session=s, actor=SYSTEM, vendor_ids=[v.id])
        s.commit()


@pytest.mark.parametrize("lang,want,other", [("en", "clean record", "记录良好"),
                                             ("zh", "记录良好", "clean record")])
def test_grade_move_reason_in_the_app_language(use_db, lang, want, other):
    use_db("one_market")
    _regrade_a01()
    at = run_page("vendors", lang=lang)
    no_exception(at)
    reasons = [str(x) for df in at.dataframe for col in df.value.columns
               if col in ("Reason", "原因") for x in df.value[col]]
    assert reasons and any(want in r for r in reasons), reasons
    assert not any(other in r for r in reasons), reasons


@pytest.mark.parametrize("lang,want", [("en", "A: clean record"), ("zh", "A:记录良好")])
def test_field_page_shows_the_grade_reason_in_the_app_language(use_db, lang, want):
    use_db("one_market")
    _regrade_a01()
    with Session(get_engine()) as s:
        v = s.exec(select(Vendor).where(Vendor.stall == "A01")).one()
    at = run_page("field_test", role=Role.FIELD_TESTER, lang=lang,
                  state={"field_market": v.market_id, "field_vendor": v.id})
    no_exception(at)
    captions = [c.value for c in at.caption]
    assert any(c.startswith(want) for c in captions), captions
