"""staged imports (issue 18)

Revision ID: 0029_import_staging
Revises: 0028_ingest_indexes
Create Date: 2026-12-01 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0029_import_staging'
down_revision: str | Sequence[str] | None = '0028_ingest_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
