"""re-test before a positive is final (issue 14)

Revision ID: 0014_retest
Revises: 0013_masterdata
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014_retest'
down_revision: str | Sequence[str] | None = '0013_masterdata'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retest_state',
                                      sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('retests_required', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sample_retest_state'), ['retest_state'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sample_retest_state'))
        batch_op.drop_column('retests_required')
        batch_op.drop_column('retest_state')
