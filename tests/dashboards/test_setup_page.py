"""The admin set-up page: workbook upload (all or nothing), template, market and vendor forms."""

from __future__ import annotations

import copy
import io

import pytest
from openpyxl import Workbook
from sqlmodel import Session, select

from dashboards.i18n import strings
from lims.models import AuditEvent, Market, Vendor
from lims.models.enums import Role
from lims.storage.engine import get_engine
from tests.dashboards.conftest import no_exception, run_page
from tests.lims.masterdata.conftest import GOOD

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def book_bytes(sheets: dict[str, list[list]]) -> bytes:
    wb = Workbook()
    wb.active.title = "notes"
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _upload(at, data: bytes):
    at.file_uploader(key="setup_upload").set_value(("setup.xlsx", data, XLSX)).run()
    at.button(key="setup_import").click().run()
    no_exception(at)
    return at


def _rows(model):
    with Session(get_engine()) as s:
        return s.exec(select(model)).all()


@pytest.mark.parametrize("lang", ["zh"])  # en: page renders in test_pages (AppTest re-maps
# translated selectbox labels on rerun in en; the browser sends indices)
def test_good_workbook_shows_counts_and_writes(use_db, lang):
    use_db("empty")
    at = _upload(run_page("setup", lang=lang), book_bytes(GOOD))
    assert at.success[0].value == strings()["setup.imported"][lang]
    counts = at.dataframe[0].value
    sheet, created = strings()["setup.sheet"][lang], strings()["setup.created"][lang]
    assert dict(zip(counts[sheet], counts[created], strict=True))["markets"] == 2
    assert sorted(m.code for m in _rows(Market)) == ["M1", "M2"]
    assert len(_rows(Vendor)) == 2


def test_bad_workbook_lists_errors_and_writes_nothing(use_db):
    use_db("empty")
    book = copy.deepcopy(GOOD)
    book["markets"][2][4] = "bazaar"
    book["vendors"].append(["M9", "B01", "", "", ""])
    at = _upload(run_page("setup"), book_bytes(book))
    assert at.error[0].value == strings()["setup.bad"]["zh"].format(n=2)
    errs = at.dataframe[0].value
    got = set(zip(errs["工作表"], errs["行"], errs["列"], strict=True))
    assert got == {("markets", 3, "kind"), ("vendors", 4, "market")}
    assert _rows(Market) == [] and _rows(Vendor) == []


def test_market_and_vendor_forms_create_and_deactivate(use_db):
    use_db("empty")
    at = run_page("setup")
    at.text_input[0].set_value("M7")
    at.text_input[1].set_value("新市场")
    at.text_input[2].set_value("青山县")
    at.button(key="FormSubmitter:market_form_None-" + strings()["setup.save"]["zh"]).click().run()
    no_exception(at)
    assert [m.code for m in _rows(Market)] == ["M7"]

    at.selectbox(key="sv_market").set_value("M7").run()
    inputs = at.text_input
    stall = next(w for w in inputs if w.label == strings()["setup.stall"]["zh"])
    stall.set_value("A9")
    at.button(key="FormSubmitter:vendor_form_M7_None-" + strings()["setup.save"]["zh"]).click().run()
    no_exception(at)
    assert [v.stall for v in _rows(Vendor)] == ["A9"]

    at.selectbox(key="sm_pick").set_value("M7").run()
    at.text_input(key="sm_reason").set_value("closed").run()
    at.button(key="sm_active").click().run()
    no_exception(at)
    assert _rows(Market)[0].active is False
    assert any(e.action == "market.deactivate" for e in _rows(AuditEvent))


def test_form_rejects_bad_input_without_writing(use_db):
    use_db("empty")
    at = run_page("setup")
    at.button(key="FormSubmitter:market_form_None-" + strings()["setup.save"]["zh"]).click().run()
    no_exception(at)
    errs = at.dataframe[-1].value
    assert {"code", "name", "county"} <= set(errs["列"])
    assert _rows(Market) == []


def test_testers_do_not_reach_the_page(use_db):
    use_db("empty")
    at = run_page("setup", role=Role.FIELD_TESTER)
    no_exception(at)
    assert strings()["page.setup"]["zh"] not in [x.value for x in at.title]
