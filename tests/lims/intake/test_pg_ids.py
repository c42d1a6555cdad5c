"""PostgreSQL: a batch's ids come from its table's sequence, which is looked up once per batch,
not once per id (``storing._NEXT_IDS``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lims.intake import storing


@pytest.mark.postgres
def test_ids_come_from_the_sequence_looked_up_once(pg_url):
    from tests.conftest import _ready_engine

    engine = _ready_engine(pg_url)
    try:
        with engine.begin() as conn:
            ids = list(conn.execute(storing._NEXT_IDS, {"t": "sample", "n": 300}).scalars())
            after = conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence('sample', "
                                         "'id'))")).scalar_one()
            assert len(set(ids)) == 300 and after > max(ids)   # drawn from the same sequence
            plan = "\n".join(conn.execute(sa.text("EXPLAIN VERBOSE " + storing._NEXT_IDS.text),
                                          {"t": "test_result", "n": 5}).scalars())
        # the sequence's name is resolved in its own one-row step; each id only calls nextval
        # on it (in the select list, the catalogue look-up ran once per id)
        [nextval] = [line for line in plan.splitlines() if "nextval(" in line]
        assert "pg_get_serial_sequence" not in nextval, plan
        assert plan.count("pg_get_serial_sequence") == 1 and "CTE s" in plan, plan
    finally:
        engine.dispose()
