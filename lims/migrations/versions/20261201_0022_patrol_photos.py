"""night-market patrols keep their photos (issue 13)

Revision ID: 0022_patrol_photos
Revises: 0021_listener_heartbeat
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022_patrol_photos'
down_revision: str | Sequence[str] | None = '0021_listener_heartbeat'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('patrol_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photos', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('patrol_log', schema=None) as batch_op:
        batch_op.drop_column('photos')
