"""An import refused lists every bad row at once: a row with a bad cell and a row that only the
intake finds wrong (an unknown market) are both named, and nothing is written (issue 16: one
was missing)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from lims.errors import ValidationFailed
from lims.files.results_import import import_results
from lims.models import Market, TestResult
from lims.security.auth import SYSTEM


def test_parse_errors_and_intake_errors_are_listed_together(session: Session, tmp_path):
    session.add(Market(code="M1", name="城东农贸市场", county="城关区", kind="farmers"))
    session.commit()
    path = tmp_path / "in.csv"
    path.write_text(
        "method,tested_at,market,commodity,control_delta,sample_delta\n"
        "ENZ-5009.199,2026-05-06 09:00,M1,菠菜,0.5,0.4\n"          # line 2: good
        "ENZ-5009.199,not a time,M1,菠菜,0.5,0.4\n"                 # line 3: bad cell
        "ENZ-5009.199,2026-05-06 09:10,NOPE,菠菜,0.5,0.4\n"         # line 4: unknown market
        "ENZ-5009.199,2026-05-06 09:20,M1,菠菜,x,0.4\n",            # line 5: bad number
        encoding="utf-8")
    with pytest.raises(ValidationFailed) as e:
        import_results(session=session, actor=SYSTEM, path=path)
    rows = [(err.row, err.field) for err in e.value.errors]
    assert [r for r, _f in rows] == [3, 4, 5], rows
    assert ("NOPE" in str(e.value)) and "tested_at" in str(e.value)
    session.rollback()
    assert session.execute(sa.select(sa.func.count()).select_from(TestResult)).scalar_one() == 0
