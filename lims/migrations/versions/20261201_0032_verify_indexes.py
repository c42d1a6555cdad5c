"""indexes for the verification queue at scale (issue 17)

Revision ID: 0032_verify_indexes
Revises: 0031_vendor_rollups
Create Date: 2026-12-01 19:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0032_verify_indexes'
down_revision: str | Sequence[str] | None = '0031_vendor_rollups'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TO_VERIFY = "verdict_mismatch OR verdict = 'suspicious'"


def upgrade() -> None:
    # the verification queue (lims.reporting.reports.verification_queue) at 10 M results ran
    # for minutes: "has this screen a re-test?" scanned the table for each suspicious screen,
    # and the newest flagged results were sorted out of all results. Two partial indexes, both
    # small (re-tests; flagged results only)
    op.create_index('ix_test_result_retest_of', 'test_result', ['retest_of_id'],
                    sqlite_where=sa.text('retest_of_id IS NOT NULL'),
                    postgresql_where=sa.text('retest_of_id IS NOT NULL'))
    op.create_index('ix_test_result_to_verify', 'test_result', ['tested_at'],
                    sqlite_where=sa.text(TO_VERIFY), postgresql_where=sa.text(TO_VERIFY))


def downgrade() -> None:
    op.drop_index('ix_test_result_to_verify', table_name='test_result')
    op.drop_index('ix_test_result_retest_of', table_name='test_result')
