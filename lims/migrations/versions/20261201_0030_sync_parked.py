"""parked sync changes and more synced records (issue 15)

Revision ID: 0030_sync_parked
Revises: 0029_import_staging
Create Date: 2026-12-01 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0030_sync_parked'
down_revision: str | Sequence[str] | None = '0029_import_staging'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
