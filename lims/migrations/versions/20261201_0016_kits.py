"""test kits and kit lots, the kit lot of a result; volunteer teams' active flag (issues 13, 14)

Revision ID: 0016_kits
Revises: 0015_sample_counts
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lims.timeutil

revision: str = '0016_kits'
down_revision: str | Sequence[str] | None = '0015_sample_counts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('kit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('method_id', sa.Integer(), nullable=False),
    sa.Column('maker', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['method_id'], ['method.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('kit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kit_method_id'), ['method_id'], unique=False)
    op.create_table('kit_lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kit_id', sa.Integer(), nullable=False),
    sa.Column('lot', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['kit_id'], ['kit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kit_id', 'lot')
    )
    with op.batch_alter_table('kit_lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kit_lot_kit_id'), ['kit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kit_lot_lot'), ['lot'], unique=False)
    with op.batch_alter_table('volunteer_team', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default="1"))
    # a nullable column with its foreign key, added in place: on SQLite a batch rebuild of
    # test_result (which cases, alerts and re-tests point at) would fail with foreign keys on
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE test_result ADD COLUMN kit_lot_id INTEGER REFERENCES kit_lot (id)')
    else:
        op.add_column('test_result', sa.Column('kit_lot_id', sa.Integer(), nullable=True))
        op.create_foreign_key('test_result_kit_lot_id_fkey', 'test_result', 'kit_lot',
                              ['kit_lot_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('test_result', schema=None) as batch_op:
        if op.get_bind().dialect.name != 'sqlite':
            batch_op.drop_constraint('test_result_kit_lot_id_fkey', type_='foreignkey')
        batch_op.drop_column('kit_lot_id')
    with op.batch_alter_table('volunteer_team', schema=None) as batch_op:
        batch_op.drop_column('active')
    with op.batch_alter_table('kit_lot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kit_lot_lot'))
        batch_op.drop_index(batch_op.f('ix_kit_lot_kit_id'))
    op.drop_table('kit_lot')
    with op.batch_alter_table('kit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kit_method_id'))
    op.drop_table('kit')
