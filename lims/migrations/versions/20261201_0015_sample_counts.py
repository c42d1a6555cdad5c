"""pass rates count samples (issue 16)

Revision ID: 0015_sample_counts
Revises: 0014_retest
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0015_sample_counts'
down_revision: str | Sequence[str] | None = '0014_retest'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
