"""second-person release (issue 19)

Revision ID: 0024_release
Revises: 0023_result_seals
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024_release'
down_revision: str | Sequence[str] | None = '0023_result_seals'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('method', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_release', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # on for confirmatory (lab) methods, off for field screens (as lims/refdata/methods.toml)
    method = sa.table('method', sa.column('is_rapid', sa.Boolean()),
                      sa.column('requires_release', sa.Boolean()))
    op.execute(method.update().where(method.c.is_rapid == sa.false())
               .values(requires_release=True))


def downgrade() -> None:
    with op.batch_alter_table('method', schema=None) as batch_op:
        batch_op.drop_column('requires_release')
