"""station sync: one row per central server with the push cursor (issue 15)

Revision ID: 0019_sync
Revises: 0018_daily_forms
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from lims.timeutil import TZDateTime

revision: str = '0019_sync'
down_revision: str | Sequence[str] | None = '0018_daily_forms'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sync_peer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('last_pushed_result_id', sa.Integer(), nullable=False),
        sa.Column('pushed_at', TZDateTime(timezone=True), nullable=True),
        sa.Column('pulled_at', TZDateTime(timezone=True), nullable=True),
        sa.Column('pull_version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('url'),
    )


def downgrade() -> None:
    op.drop_table('sync_peer')
