"""staged imports (issue 18)

Revision ID: 0029_import_staging
Revises: 0028_ingest_indexes
Create Date: 2026-12-01 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0029_import_staging'
down_revision: str | Sequence[str] | None = '0028_ingest_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # results of a multi-chunk import wait here (status "staged" on the row) until the whole
    # file is stored, then are published in one transaction (lims.files.import_publish)
    op.create_table(
        'import_stage',
        sa.Column('result_id', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('import_sha', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('phase', sa.String(length=10), nullable=False),
        sa.Column('counts', sa.Boolean(), nullable=False),
        sa.Column('count_date', sa.Date(), nullable=True),
        sa.Column('count_week', sa.Date(), nullable=True),
        sa.Column('recount', sa.Boolean(), nullable=False),
    )
    op.create_index('ix_import_stage_import_sha', 'import_stage', ['import_sha'])
    op.create_index('ix_import_stage_phase', 'import_stage', ['phase'])


def downgrade() -> None:
    op.drop_index('ix_import_stage_phase', table_name='import_stage')
    op.drop_index('ix_import_stage_import_sha', table_name='import_stage')
    op.drop_table('import_stage')
