"""tamper-evident result seals (issue 18)

Revision ID: 0023_result_seals
Revises: 0022_patrol_photos
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0023_result_seals'
down_revision: str | Sequence[str] | None = '0022_patrol_photos'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
