"""Samples and test results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

from lims.models._types import json_field, ts_field

#: the flagged results the verification queue lists (a partial index has the same condition)
TO_VERIFY = "verdict_mismatch OR verdict = 'suspicious'"
#: held results (partial indexes have this condition; a query names it as a literal so that
#: SQLite's planner, which does not look into bound parameters, can use them)
HELD = "status = 'held'"
IS_HELD = sa.literal_column("'held'")
#: a positive first screen (0035: the partial index a vendor's positives are read from; queries
#: name it as this very text, see HELD)
POSITIVE_SCREEN = "verdict IN ('positive', 'noncompliant') AND retest_of_id IS NULL"
#: a sample whose positive screen is not (or not yet) a positive of its vendor: its re-tests are
#: pending, or did not confirm it (0036: a small partial index; queries name it as this text)
RETEST_OPEN = "retest_state IN ('pending', 'not_confirmed')"


def new_uuid() -> str:
    """A sample's UUID, time-ordered (UUIDv7, RFC 9562): new samples' keys land at the end of the
    unique index instead of on a random page of it; at 10 M results the random ones were a third
    of the pages a batch wrote (docs/performance.md, "Where a batch's writes go")."""
    return str(uuid7())


class Sample(SQLModel, table=True):
    __tablename__ = "sample"
    __table_args__ = (
        sa.Index("ix_sample_retest_open", "id", sqlite_where=sa.text(RETEST_OPEN),
                 postgresql_where=sa.text(RETEST_OPEN)),
    )
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=new_uuid, unique=True, max_length=36)
    code: str = Field(unique=True, max_length=20)  # short code printed on the slip
    market_id: int | None = Field(default=None, foreign_key="market.id", index=True)
    vendor_id: int | None = Field(default=None, foreign_key="vendor.id", index=True)
    resident_purchase: bool = False  # brought by a resident at an outreach event
    commodity_id: int = Field(foreign_key="commodity.id")
    taken_at: datetime = ts_field()
    taken_by: str = Field(default="", max_length=100)
    event_id: int | None = Field(default=None, foreign_key="outreach_event.id", index=True)
    # re-test before a positive is final (issue 14, lims.intake.retests): None (nothing to
    # re-test), "pending", "confirmed" or "not_confirmed"; the number of re-tests its method asked
    # for is copied when the re-tests begin, so a later edit of the method applies to later ones
    retest_state: str | None = Field(default=None, max_length=20, index=True)
    retests_required: int | None = None


class TestResult(SQLModel, table=True):
    """One judged measurement of a sample.

    ``raw`` holds the values exactly as received; ``verdict`` is always recomputed by the verdict
    engine; ``instrument_verdict`` keeps what the instrument said, and ``verdict_mismatch`` flags a
    disagreement (never overwritten). market/commodity/local date/week are copied from the sample
    so the trend queries group one table by indexed columns.
    """

    __tablename__ = "test_result"
    __test__ = False  # not a pytest test class
    __table_args__ = (
        sa.Index("ix_test_result_market_week", "market_id", "week_start"),
        sa.Index("ix_test_result_week_market", "week_start", "market_id"),
        sa.Index("ix_test_result_market_count_week", "market_id", "count_week"),
        sa.Index("ix_test_result_sample_tested", "sample_id", "tested_at"),   # 0028, issue 15
        # 0032 (issue 17): re-tests of a screen; the verification queue's flagged results
        sa.Index("ix_test_result_retest_of", "retest_of_id",
                 sqlite_where=sa.text("retest_of_id IS NOT NULL"),
                 postgresql_where=sa.text("retest_of_id IS NOT NULL")),
        sa.Index("ix_test_result_to_verify", "tested_at",
                 sqlite_where=sa.text(TO_VERIFY), postgresql_where=sa.text(TO_VERIFY)),
        # 0033 (issue 17): an instrument's newest result (the field page polls it); replaces
        # the index on instrument_id alone (its prefix)
        sa.Index("ix_test_result_instrument_tested", "instrument_id", "tested_at"),
        # 0033 (issue 17): readings by when a listener received them (instrument clocks)
        sa.Index("ix_test_result_received", "received_at",
                 sqlite_where=sa.text("received_at IS NOT NULL"),
                 postgresql_where=sa.text("received_at IS NOT NULL")),
        # 0033 (issue 17): held results only (calibration status, held list, release queue)
        *[sa.Index(name, *cols, sqlite_where=sa.text(HELD), postgresql_where=sa.text(HELD))
          for name, cols in (("ix_test_result_held_instrument", ("instrument_id", "tested_at")),
                             ("ix_test_result_held_tested", ("tested_at",)),
                             # 0034: the release queue, by method (was created_at alone)
                             ("ix_test_result_held_method_created",
                              ("method_id", "created_at", "id")))],
        # 0035 (issue 15): a vendor's newest result; 0038: with status and retest_of, grading
        # counts a vendor's tests of its window from the index alone
        sa.Index("ix_test_result_vendor_tested", "vendor_id", "tested_at", "status",
                 "retest_of_id"),
        # 0037: with status and sample (and the id), grading reads the index alone (SQLite
        # wants the columns of the index's own WHERE in it too)
        sa.Index("ix_test_result_vendor_positive", "vendor_id", "tested_at", "status",
                 "sample_id", "verdict", "retest_of_id", sqlite_where=sa.text(POSITIVE_SCREEN),
                 postgresql_where=sa.text(POSITIVE_SCREEN), postgresql_include=["id"]),
    )
    id: int | None = Field(default=None, primary_key=True)
    sample_id: int = Field(foreign_key="sample.id")   # indexed by ix_test_result_sample_tested
    method_id: int = Field(foreign_key="method.id")
    analyte_id: int | None = Field(default=None, foreign_key="analyte.id")
    # indexed with tested_at (ix_test_result_instrument_tested, 0033)
    instrument_id: int | None = Field(default=None, foreign_key="instrument.id")
    channel: str | None = Field(default=None, max_length=10)
    tested_at: datetime = ts_field()
    tested_by: str = Field(default="", max_length=100)
    raw: dict[str, Any] = json_field()
    computed_value: float | None = None
    computed_unit: str | None = Field(default=None, max_length=20)
    verdict: str = Field(max_length=20)  # lims.verdicts.Outcome
    verdict_reasons: list[str] = json_field(default_factory=list)
    instrument_verdict: str | None = Field(default=None, max_length=20)
    verdict_mismatch: bool = False
    threshold_id: int | None = Field(default=None, foreign_key="threshold.id")
    status: str = Field(default="recorded", max_length=20)  # ResultStatus
    calibration_state: str = Field(default="unknown", max_length=20)  # CalibrationState
    retest_of_id: int | None = Field(default=None, foreign_key="test_result.id")
    kit_lot_id: int | None = Field(default=None, foreign_key="kit_lot.id")  # issue 14
    source: str = Field(default="manual", max_length=20)  # manual, import, listener, demo
    ingest_key: str = Field(unique=True, max_length=64)  # idempotency: same reading stored once
    # issue 18 (lims.security.seals): SHA-256 of the sealed content, chained in the audit trail
    seal: str | None = Field(default=None, max_length=64)
    # denormalised from the sample for aggregation
    market_id: int | None = Field(default=None, foreign_key="market.id")
    vendor_id: int | None = Field(default=None, foreign_key="vendor.id")   # 0035, grading
    commodity_id: int = Field(foreign_key="commodity.id", index=True)
    local_date: date
    week_start: date
    created_at: datetime = ts_field(default_now=True)
    # pass rates count samples, not readings (issue 16, lims.intake.counting): ``counts`` is true
    # on the one result that carries its sample's final verdict; ``count_date``/``count_week``
    # are the sample's day and ISO week (its first result's), set only where ``counts`` is true
    counts: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    count_date: date | None = None
    count_week: date | None = None
    # issue 19 (lims.metrology.clocks): for a reading heard on a port, when the listener
    # received it (its journal entry's time) and where it sits in the instrument's journal
    # (``file@start-end``); tested_at is the instrument's own clock
    received_at: datetime | None = ts_field(nullable=True)
    journal_ref: str = Field(default="", max_length=300,
                             sa_column_kwargs={"server_default": ""})


class ImportStage(SQLModel, table=True):
    """A result stored by a multi-chunk file import that is not published yet (issue 18).

    The result row itself has status ``staged`` (counted and shown nowhere); this row keeps the
    status it gets when the whole file is in (``status``) and which import it belongs to
    (``import_sha``, the file's SHA-256). ``phase``: ``staged`` until the publish, then
    ``published`` until its follow-up (cases, alerts, grades) is done; then the row is deleted.
    (No foreign key: test_result may be partitioned on PostgreSQL.)
    """

    __tablename__ = "import_stage"
    result_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    import_sha: str = Field(max_length=64, index=True)
    status: str = Field(max_length=20)
    phase: str = Field(default="staged", max_length=10, index=True)
    # what the publish writes (lims.intake.staging): the pass-rate flags; recount: its
    # sample is counted again at the publish instead
    counts: bool = False
    count_date: date | None = None
    count_week: date | None = None
    recount: bool = False


@sa.event.listens_for(TestResult, "before_insert")
def _vendor_of_sample(_mapper, connection, target: TestResult) -> None:
    """A result added as an ORM object (a tool, a test) takes its sample's vendor, as the intake
    pipeline's bulk insert gives it (grading reads a vendor's results by ``vendor_id``)."""
    if target.vendor_id is None and target.sample_id is not None:
        target.vendor_id = connection.execute(
            sa.text("SELECT vendor_id FROM sample WHERE id = :i"), {"i": target.sample_id}
        ).scalar()
