"""notices to grid officers: the outbox table and the grid group's e-mail (issue 15)

Revision ID: 0020_notices
Revises: 0019_sync
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from lims.timeutil import TZDateTime

revision: str = '0020_notices'
down_revision: str | Sequence[str] | None = '0019_sync'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('grid_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=False, server_default=''))
    op.create_table(
        'notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', TZDateTime(timezone=True), nullable=False),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('created_at', TZDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', TZDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['alert_id'], ['alert.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_next_attempt_at'), ['next_attempt_at'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('notice')
    with op.batch_alter_table('grid_group', schema=None) as batch_op:
        batch_op.drop_column('email')
