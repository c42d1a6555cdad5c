"""attachments on samples, cases, patrols, calibrations (issue 19)

Revision ID: 0025_attachments
Revises: 0024_release
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0025_attachments'
down_revision: str | Sequence[str] | None = '0024_release'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
