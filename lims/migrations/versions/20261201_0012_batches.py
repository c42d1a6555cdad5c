"""batches: samples on analyzer channels, unbound readings

Revision ID: 0012_batches
Revises: 0011_api_tokens
Create Date: 2026-12-01 09:47:57
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lims.timeutil

revision: str = '0012_batches'
down_revision: str | Sequence[str] | None = '0011_api_tokens'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('closed_at', lims.timeutil.TZDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instrument.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_instrument_id'), ['instrument_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_opened_at'), ['opened_at'], unique=False)

    op.create_table('batch_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=True),
    sa.Column('control', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ),
    sa.ForeignKeyConstraint(['sample_id'], ['sample.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'channel')
    )
    with op.batch_alter_table('batch_slot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_slot_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_slot_sample_id'), ['sample_id'], unique=False)

    op.create_table('unbound_reading',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ingest_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('tested_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.Column('reading', sa.JSON(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('received_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('decided_at', lims.timeutil.TZDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instrument.id'], ),
    sa.ForeignKeyConstraint(['result_id'], ['test_result.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ingest_key')
    )
    with op.batch_alter_table('unbound_reading', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unbound_reading_instrument_id'), ['instrument_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unbound_reading_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_unbound_reading_tested_at'), ['tested_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('unbound_reading', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unbound_reading_tested_at'))
        batch_op.drop_index(batch_op.f('ix_unbound_reading_status'))
        batch_op.drop_index(batch_op.f('ix_unbound_reading_instrument_id'))

    op.drop_table('unbound_reading')
    with op.batch_alter_table('batch_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_slot_sample_id'))
        batch_op.drop_index(batch_op.f('ix_batch_slot_batch_id'))

    op.drop_table('batch_slot')
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_opened_at'))
        batch_op.drop_index(batch_op.f('ix_batch_instrument_id'))

    op.drop_table('batch')
