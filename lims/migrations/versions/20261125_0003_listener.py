"""listener: quarantine, metering readings, journal offsets

Revision ID: 0003_listener
Revises: 0001
Create Date: 2026-11-25 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lims.timeutil

revision: str = '0003_listener'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
TS = lims.timeutil.TZDateTime


def upgrade() -> None:
    op.create_table('quarantine_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', TS(timezone=True), nullable=False),
    sa.Column('instrument_serial', S(length=60), nullable=False),
    sa.Column('claimed_serial', S(length=60), nullable=True),
    sa.Column('driver', S(length=30), nullable=False),
    sa.Column('profile', S(length=200), nullable=True),
    sa.Column('stage', S(length=20), nullable=False),
    sa.Column('reason', S(length=4000), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('reading', sa.JSON(), nullable=True),
    sa.Column('journal_ref', S(length=300), nullable=False),
    sa.Column('dedupe_key', S(length=64), nullable=False),
    sa.Column('resolved_at', TS(timezone=True), nullable=True),
    sa.Column('resolution', S(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('quarantine_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_item_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_quarantine_item_instrument_serial'), ['instrument_serial'], unique=False)

    op.create_table('metering_reading',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('received_at', TS(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', S(length=10), nullable=False),
    sa.Column('stability', S(length=20), nullable=False),
    sa.Column('mode', S(length=10), nullable=False),
    sa.Column('header', S(length=20), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('source', S(length=20), nullable=False),
    sa.Column('ingest_key', S(length=64), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instrument.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ingest_key')
    )
    with op.batch_alter_table('metering_reading', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metering_reading_instrument_id'), ['instrument_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_metering_reading_received_at'), ['received_at'], unique=False)

    op.create_table('listener_offset',
    sa.Column('instrument_serial', S(length=60), nullable=False),
    sa.Column('journal_file', S(length=300), nullable=False),
    sa.Column('line_offset', sa.Integer(), nullable=False),
    sa.Column('skip', sa.Integer(), nullable=False),
    sa.Column('stream_pos', sa.Integer(), nullable=False),
    sa.Column('updated_at', TS(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('instrument_serial')
    )


def downgrade() -> None:
    op.drop_table('listener_offset')
    with op.batch_alter_table('metering_reading', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metering_reading_received_at'))
        batch_op.drop_index(batch_op.f('ix_metering_reading_instrument_id'))
    op.drop_table('metering_reading')
    with op.batch_alter_table('quarantine_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_item_instrument_serial'))
        batch_op.drop_index(batch_op.f('ix_quarantine_item_received_at'))
    op.drop_table('quarantine_item')
