"""calibration: QC control series and outreach metering checks

Revision ID: 0004_calibration
Revises: 0001
Create Date: 2026-11-25 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lims.timeutil

revision: str = '0004_calibration'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('qc_control_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('control', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('measured_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('baseline', sa.Boolean(), nullable=False),
    sa.Column('calibration_record_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.ForeignKeyConstraint(['calibration_record_id'], ['calibration_record.id'], ),
    sa.ForeignKeyConstraint(['instrument_id'], ['instrument.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('qc_control_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qc_control_value_instrument_id'), ['instrument_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_qc_control_value_measured_at'), ['measured_at'],
                              unique=False)

    op.create_table('meter_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('make', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('readings', sa.JSON(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('checked_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.Column('checked_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['outreach_event.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meter_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_check_checked_at'), ['checked_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_meter_check_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('meter_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meter_check_event_id'))
        batch_op.drop_index(batch_op.f('ix_meter_check_checked_at'))
    op.drop_table('meter_check')
    with op.batch_alter_table('qc_control_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qc_control_value_measured_at'))
        batch_op.drop_index(batch_op.f('ix_qc_control_value_instrument_id'))
    op.drop_table('qc_control_value')
