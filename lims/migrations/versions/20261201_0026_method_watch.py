"""watching the field methods (issue 19)

Revision ID: 0026_method_watch
Revises: 0025_attachments
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0026_method_watch'
down_revision: str | Sequence[str] | None = '0025_attachments'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
