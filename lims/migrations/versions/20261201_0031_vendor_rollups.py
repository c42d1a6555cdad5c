"""per-vendor rollups for coverage and weighted pass rates (issue 17)

Revision ID: 0031_vendor_rollups
Revises: 0030_sync_parked
Create Date: 2026-12-01 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0031_vendor_rollups'
down_revision: str | Sequence[str] | None = '0030_sync_parked'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
