"""sample: a partial index of the samples whose positive screen is not a positive (yet)

Revision ID: 0036_retest_open_index
Revises: 0035_result_vendor
Create Date: 2026-12-02 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0036_retest_open_index'
down_revision: str | Sequence[str] | None = '0035_result_vendor'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the same text as the model's index (lims.models.results.RETEST_OPEN)
RETEST_OPEN = "retest_state IN ('pending', 'not_confirmed')"


def upgrade() -> None:
    # Grading a batch's vendors joined each positive screen of the window to its sample, to leave
    # out those waiting for re-tests or not confirmed: one random read of `sample` per positive
    # (on PostgreSQL at 10 M results, 0.73 s of a 1 000-reading batch's 2.4 s). These samples
    # are a few in a hundred; their ids, in a small index, answer the same question.
    op.create_index('ix_sample_retest_open', 'sample', ['id'],
                    sqlite_where=sa.text(RETEST_OPEN), postgresql_where=sa.text(RETEST_OPEN))


def downgrade() -> None:
    op.drop_index('ix_sample_retest_open', table_name='sample')
