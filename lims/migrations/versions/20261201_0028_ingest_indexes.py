"""indexes for ingest speed (issue 15)

Revision ID: 0028_ingest_indexes
Revises: 0027_sync_changes
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op

revision: str = '0028_ingest_indexes'
down_revision: str | Sequence[str] | None = '0027_sync_changes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a sample's results by time: the vendor grades' window reads (regrading after every batch)
    # look up only the results inside the window instead of every result of every sample. It
    # replaces the index on sample_id alone (its prefix): no extra index to keep up on insert.
    op.create_index('ix_test_result_sample_tested', 'test_result', ['sample_id', 'tested_at'])
    op.drop_index('ix_test_result_sample_id', table_name='test_result')


def downgrade() -> None:
    op.create_index('ix_test_result_sample_id', 'test_result', ['sample_id'])
    op.drop_index('ix_test_result_sample_tested', table_name='test_result')
