"""sync of changes to results and cases (issue 15)

Revision ID: 0027_sync_changes
Revises: 0026_method_watch
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from lims.timeutil import TZDateTime

revision: str = '0027_sync_changes'
down_revision: str | Sequence[str] | None = '0026_method_watch'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # station: the cursor of the change outbox (audit events of the kinds that sync)
    with op.batch_alter_table('sync_peer') as batch:
        batch.add_column(sa.Column('last_pushed_event_id', sa.Integer(), nullable=False,
                                   server_default='0'))
    # central server: who uploaded each result, and the changes applied once per station
    op.create_table(
        'sync_result_owner',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ingest_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('station', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ingest_key'),
    )
    op.create_index('ix_sync_result_owner_station', 'sync_result_owner', ['station'])
    op.create_table(
        'sync_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column('applied_at', TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('station', 'event_id'),
    )
    op.create_table(
        'sync_chain_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('station_at', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('received_at', TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sync_chain_head_station', 'sync_chain_head', ['station'])


def downgrade() -> None:
    op.drop_index('ix_sync_chain_head_station', table_name='sync_chain_head')
    op.drop_table('sync_chain_head')
    op.drop_table('sync_change')
    op.drop_index('ix_sync_result_owner_station', table_name='sync_result_owner')
    op.drop_table('sync_result_owner')
    with op.batch_alter_table('sync_peer') as batch:
        batch.drop_column('last_pushed_event_id')
