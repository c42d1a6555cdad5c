"""Grading's reads of ``test_result`` are answered from indexes alone (migrations 0037, 0038).

At 10 M results a read that goes to the table for each row costs one random page per result
of a vendor's year (seconds per county batch with a cold cache); these tests catch a change to
a query or an index that would send grading back to the table."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from lims.enforcement import grade_metrics
from tests.lims.conftest import T0


def _grading_reads(engine: sa.Engine) -> list[tuple[str, object]]:
    """The statements (with their parameters) that grading sends to ``test_result``."""
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "FROM test_result" in statement:
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        with Session(engine) as s:
            grade_metrics._metrics(s, {1: T0, 2: T0 + timedelta(days=3)}, 365, tests=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    return seen


def test_sqlite_grading_reads_covering_indexes(sqlite_engine):
    reads = _grading_reads(sqlite_engine)
    assert len(reads) == 2   # the tests counted, the positive screens
    with sqlite_engine.connect() as conn:
        for statement, params in reads:
            plan = " | ".join(row[-1] for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, params))
            assert "test_result USING COVERING INDEX ix_test_result_vendor_" in plan, plan
            assert "SCAN test_result" not in plan, plan


@pytest.mark.postgres
def test_postgres_grading_reads_index_only(pg_url):
    from tests.conftest import _ready_engine

    engine = _ready_engine(pg_url)
    try:
        reads = _grading_reads(engine)
        assert len(reads) == 2
        with engine.connect() as conn:
            # an empty table would be read whole: ask for the plan it gets when that is dear
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            for statement, params in reads:
                plan = "\n".join(row[0] for row in conn.exec_driver_sql(
                    "EXPLAIN " + statement, params))
                assert "Index Only Scan using ix_test_result_vendor_" in plan, plan
    finally:
        engine.dispose()
