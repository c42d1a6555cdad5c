"""parked sync changes and more synced records (issue 15)

Revision ID: 0030_sync_parked
Revises: 0029_import_staging
Create Date: 2026-12-01 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from lims.timeutil import TZDateTime

revision: str = '0030_sync_parked'
down_revision: str | Sequence[str] | None = '0029_import_staging'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # station: the cursor of the calibration records (they go up before the results) and the
    # digest of the volunteers' service hours last sent
    with op.batch_alter_table('sync_peer') as batch:
        batch.add_column(sa.Column('last_pushed_calibration_id', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('hours_digest', sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=False, server_default=''))
    # station: changes the central server refused, parked with the reason
    op.create_table(
        'sync_parked',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('peer_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('result_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('parked_at', TZDateTime(timezone=True), nullable=False),
        sa.Column('retry', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['peer_id'], ['sync_peer.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('peer_id', 'event_id'),
    )
    op.create_index('ix_sync_parked_peer_id', 'sync_parked', ['peer_id'])
    # central server: the changes it refused, per station
    op.create_table(
        'sync_refused',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('refused_at', TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('station', 'event_id'),
    )
    op.create_index('ix_sync_refused_station', 'sync_refused', ['station'])


def downgrade() -> None:
    op.drop_index('ix_sync_refused_station', table_name='sync_refused')
    op.drop_table('sync_refused')
    op.drop_index('ix_sync_parked_peer_id', table_name='sync_parked')
    op.drop_table('sync_parked')
    with op.batch_alter_table('sync_peer') as batch:
        batch.drop_column('hours_digest')
        batch.drop_column('last_pushed_calibration_id')
