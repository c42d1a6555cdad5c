"""watching the field methods (issue 19)

Revision ID: 0026_method_watch
Revises: 0025_attachments
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from lims.timeutil import TZDateTime

revision: str = '0026_method_watch'
down_revision: str | Sequence[str] | None = '0025_attachments'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'lab_alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('method_id', sa.Integer(), nullable=True),
        sa.Column('kit_lot_id', sa.Integer(), nullable=True),
        sa.Column('raised_at', TZDateTime(timezone=True), nullable=False),
        sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('acknowledged_at', TZDateTime(timezone=True), nullable=True),
        sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=60),
                  nullable=False),
        sa.ForeignKeyConstraint(['kit_lot_id'], ['kit_lot.id']),
        sa.ForeignKeyConstraint(['method_id'], ['method.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'subject'),
    )
    op.create_index('ix_lab_alert_kind', 'lab_alert', ['kind'])
    op.create_index('ix_lab_alert_raised_at', 'lab_alert', ['raised_at'])
    with op.batch_alter_table('test_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_at', TZDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('journal_ref', sqlmodel.sql.sqltypes.AutoString(length=300),
                                      nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('test_result', schema=None) as batch_op:
        batch_op.drop_column('journal_ref')
        batch_op.drop_column('received_at')
    op.drop_index('ix_lab_alert_raised_at', table_name='lab_alert')
    op.drop_index('ix_lab_alert_kind', table_name='lab_alert')
    op.drop_table('lab_alert')
