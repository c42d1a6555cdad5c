"""indexes for ingest speed (issue 15)

Revision ID: 0028_ingest_indexes
Revises: 0027_sync_changes
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0028_ingest_indexes'
down_revision: str | Sequence[str] | None = '0027_sync_changes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
