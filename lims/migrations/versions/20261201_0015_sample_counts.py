"""pass rates count samples (issue 16)

Adds ``test_result.counts`` (true on the one result carrying its sample's final verdict) and
``count_date``/``count_week`` (the sample's day and ISO week, where that verdict counts), fills
them for the stored results with one UPDATE (the rule of ``lims.intake.counting``: of a sample's
recorded/accepted results a confirmatory one before any rapid one, then the latest, then the
highest id; the day of the sample's first result), and indexes market × count week.

Revision ID: 0015_sample_counts
Revises: 0014_retest
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_sample_counts'
down_revision: str | Sequence[str] | None = '0014_retest'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the id of the result that counts for the sample of the outer ``test_result`` row
_FINAL = ("(SELECT t2.id FROM test_result t2 JOIN method m ON m.id = t2.method_id "
          "WHERE t2.sample_id = test_result.sample_id AND t2.status IN ('recorded', 'accepted') "
          "ORDER BY m.is_rapid ASC, t2.tested_at DESC, t2.id DESC LIMIT 1)")
_FIRST = ("(SELECT min(t3.{col}) FROM test_result t3 "
          "WHERE t3.sample_id = test_result.sample_id)")

BACKFILL = (
    "UPDATE test_result SET "
    f"counts = CASE WHEN test_result.id = {_FINAL} THEN TRUE ELSE FALSE END, "
    f"count_date = CASE WHEN test_result.id = {_FINAL} THEN {_FIRST.format(col='local_date')} "
    "END, "
    f"count_week = CASE WHEN test_result.id = {_FINAL} THEN {_FIRST.format(col='week_start')} "
    "END")


def upgrade() -> None:
    # added in place (no batch rebuild of test_result: cases, alerts and re-tests point at it)
    op.add_column('test_result', sa.Column('counts', sa.Boolean(), nullable=False,
                                           server_default=sa.false()))
    op.add_column('test_result', sa.Column('count_date', sa.Date(), nullable=True))
    op.add_column('test_result', sa.Column('count_week', sa.Date(), nullable=True))
    op.execute(BACKFILL)
    op.create_index('ix_test_result_market_count_week', 'test_result',
                    ['market_id', 'count_week'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_test_result_market_count_week', table_name='test_result')
    with op.batch_alter_table('test_result', schema=None) as batch_op:
        batch_op.drop_column('count_week')
        batch_op.drop_column('count_date')
        batch_op.drop_column('counts')
