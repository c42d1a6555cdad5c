"""attachments on samples, cases, patrols, calibrations (issue 19)

Revision ID: 0025_attachments
Revises: 0024_release
Create Date: 2026-12-01 15:00:00

The files themselves are on disk (LIMS_VAR_DIR/attachments/<aa>/<sha256>, lims.files.attachments),
on PostgreSQL too: the table holds who owns which content.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from lims.timeutil import TZDateTime

revision: str = '0025_attachments'
down_revision: str | Sequence[str] | None = '0024_release'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column('uploaded_at', TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('owner_kind', 'owner_id', 'sha256',
                            name='uq_attachment_owner_content'),
    )
    op.create_index('ix_attachment_sha256', 'attachment', ['sha256'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_attachment_sha256', table_name='attachment')
    op.drop_table('attachment')
