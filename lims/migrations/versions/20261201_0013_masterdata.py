"""master data: grid group code, officer, phone; active flags on grid groups, markets, vendors;
vendor phone (issue 13: set-up in the app and from a workbook)

Revision ID: 0013_masterdata
Revises: 0012_batches
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013_masterdata'
down_revision: str | Sequence[str] | None = '0012_batches'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('grid_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=True))
        batch_op.add_column(sa.Column('officer', sqlmodel.sql.sqltypes.AutoString(length=100),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default="1"))
    # a unique index, not a table constraint: SQLite then adds the columns in place instead of
    # rebuilding grid_group (which markets point at: the rebuild fails with foreign keys on)
    op.create_index('ix_grid_group_code', 'grid_group', ['code'], unique=True)
    with op.batch_alter_table('market', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default="1"))
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('phone')
    with op.batch_alter_table('market', schema=None) as batch_op:
        batch_op.drop_column('active')
    op.drop_index('ix_grid_group_code', table_name='grid_group')
    with op.batch_alter_table('grid_group', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('phone')
        batch_op.drop_column('officer')
        batch_op.drop_column('code')
