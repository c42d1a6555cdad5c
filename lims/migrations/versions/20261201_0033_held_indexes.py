"""held results indexed (issue 17)

Revision ID: 0033_held_indexes
Revises: 0032_verify_indexes
Create Date: 2026-12-01 20:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0033_held_indexes'
down_revision: str | Sequence[str] | None = '0032_verify_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = "status = 'held'"


def upgrade() -> None:
    # the calibration status page (held results per instrument and their list) and the release
    # queue read held results: at 10 M results a scan of the table (38 s per page on SQLite).
    # Partial indexes: only held results (a few per cent) are in them
    for name, cols in (('ix_test_result_held_instrument', ['instrument_id', 'tested_at']),
                       ('ix_test_result_held_tested', ['tested_at']),
                       ('ix_test_result_held_created', ['created_at'])):
        op.create_index(name, 'test_result', cols, sqlite_where=sa.text(HELD),
                        postgresql_where=sa.text(HELD))
    # an instrument's newest result (the field page polls it every few seconds): the index on
    # instrument_id alone made it read every result of the instrument
    op.create_index('ix_test_result_instrument_tested', 'test_result',
                    ['instrument_id', 'tested_at'])
    op.drop_index('ix_test_result_instrument_id', table_name='test_result')
    # readings by when a listener received them (the method-watch page's 30 days of clocks)
    op.create_index('ix_test_result_received', 'test_result', ['received_at'],
                    sqlite_where=sa.text('received_at IS NOT NULL'),
                    postgresql_where=sa.text('received_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_test_result_received', table_name='test_result')
    op.create_index('ix_test_result_instrument_id', 'test_result', ['instrument_id'])
    op.drop_index('ix_test_result_instrument_tested', table_name='test_result')
    for name in ('ix_test_result_held_created', 'ix_test_result_held_tested',
                 'ix_test_result_held_instrument'):
        op.drop_index(name, table_name='test_result')
