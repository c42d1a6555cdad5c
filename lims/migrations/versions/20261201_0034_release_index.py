"""the release queue's held results by method (issue 17)

Revision ID: 0034_release_index
Revises: 0033_held_indexes
Create Date: 2026-12-01 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0034_release_index'
down_revision: str | Sequence[str] | None = '0033_held_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = "status = 'held'"


def upgrade() -> None:
    # the release queue asks for held results of the methods that need a second person's
    # release, oldest first: by created_at alone it walked every held result (300 000 at 10 M,
    # most held for calibration) to find the few lab ones. (method_id, created_at, id) finds
    # them from the index alone (PostgreSQL keeps no id in an index unless it is a column)
    op.create_index('ix_test_result_held_method_created', 'test_result',
                    ['method_id', 'created_at', 'id'], sqlite_where=sa.text(HELD),
                    postgresql_where=sa.text(HELD))
    op.drop_index('ix_test_result_held_created', table_name='test_result')


def downgrade() -> None:
    op.create_index('ix_test_result_held_created', 'test_result', ['created_at'],
                    sqlite_where=sa.text(HELD), postgresql_where=sa.text(HELD))
    op.drop_index('ix_test_result_held_method_created', table_name='test_result')
