"""test_result: the vendors' positive screens answered from their partial index alone

Revision ID: 0037_vendor_positive_covering
Revises: 0036_retest_open_index
Create Date: 2026-12-02 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0037_vendor_positive_covering'
down_revision: str | Sequence[str] | None = '0036_retest_open_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the same text as the model's index (lims.models.results.POSITIVE_SCREEN)
POSITIVE_SCREEN = "verdict IN ('positive', 'noncompliant') AND retest_of_id IS NULL"


def upgrade() -> None:
    # Grading reads each batch vendor's positive screens of the last 365 days: the result, its
    # time, its sample and its status. The index held only vendor and time, so every positive
    # was fetched from the table: one random page per positive (PostgreSQL at 10 M results, the
    # 4 700 vendors of a batch from every market: 21 000 positives, 22 000 table pages, 2.7 s
    # with a cold cache). With status and sample in the index (and the id: SQLite's rowid is in
    # every index, PostgreSQL's is included) the index alone answers: 0.1 s cold. SQLite reads
    # a partial index alone only when the columns of its own WHERE are in it too.
    op.drop_index('ix_test_result_vendor_positive', table_name='test_result')
    op.create_index('ix_test_result_vendor_positive', 'test_result',
                    ['vendor_id', 'tested_at', 'status', 'sample_id', 'verdict', 'retest_of_id'],
                    sqlite_where=sa.text(POSITIVE_SCREEN),
                    postgresql_where=sa.text(POSITIVE_SCREEN), postgresql_include=['id'])


def downgrade() -> None:
    op.drop_index('ix_test_result_vendor_positive', table_name='test_result')
    op.create_index('ix_test_result_vendor_positive', 'test_result', ['vendor_id', 'tested_at'],
                    sqlite_where=sa.text(POSITIVE_SCREEN),
                    postgresql_where=sa.text(POSITIVE_SCREEN))
