"""tamper-evident result seals (issue 18)

Revision ID: 0023_result_seals
Revises: 0022_patrol_photos
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023_result_seals'
down_revision: str | Sequence[str] | None = '0022_patrol_photos'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('test_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sa.String(length=64), nullable=True))
    # results stored before sealing began are sealed now, in one chained event per chunk
    from lims.security.seals import seal_unsealed

    seal_unsealed(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('test_result', schema=None) as batch_op:
        batch_op.drop_column('seal')
