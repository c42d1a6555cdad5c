"""listener heartbeats: the app shows a listener that is down (issue 18)

Revision ID: 0021_listener_heartbeat
Revises: 0020_notices
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from lims.timeutil import TZDateTime

revision: str = '0021_listener_heartbeat'
down_revision: str | Sequence[str] | None = '0020_notices'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'listener_heartbeat',
        sa.Column('instrument_serial', sqlmodel.sql.sqltypes.AutoString(length=60),
                  nullable=False),
        sa.Column('started_at', TZDateTime(timezone=True), nullable=False),
        sa.Column('beat_at', TZDateTime(timezone=True), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('host', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint('instrument_serial'),
    )


def downgrade() -> None:
    op.drop_table('listener_heartbeat')
