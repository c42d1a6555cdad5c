"""sync of changes to results and cases (issue 15)

Revision ID: 0027_sync_changes
Revises: 0026_method_watch
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0027_sync_changes'
down_revision: str | Sequence[str] | None = '0026_method_watch'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
