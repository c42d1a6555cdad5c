"""The alerts page shows the case-handling scores the service computes, in both languages."""

from __future__ import annotations

import pytest

from dashboards.i18n import strings
from lims.enforcement.scoring import handling_report
from lims.storage.engine import get_engine, session_scope
from tests.conftest import PINNED_DAY
from tests.dashboards.conftest import no_exception, run_page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_case_handling_table_matches_the_service(use_db, lang):
    use_db("demo")
    with session_scope(get_engine()) as s:
        rows = handling_report(session=s, year=PINNED_DAY.year)
    at = run_page("alerts", lang=lang)
    no_exception(at)
    s_ = strings()
    assert any(h.value == s_["handling.title"][lang] for h in at.subheader)
    assert rows, "the demo has cases"
    table = at.dataframe[-1].value
    col = s_["handling.cases"][lang]
    assert int(table[col].sum()) == sum(r.cases for r in rows)
    assert int(table[s_["handling.lacking"][lang]].sum()) == sum(r.lacking_evidence for r in rows)
