"""second-person release (issue 19)

Revision ID: 0024_release
Revises: 0023_result_seals
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0024_release'
down_revision: str | Sequence[str] | None = '0023_result_seals'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
