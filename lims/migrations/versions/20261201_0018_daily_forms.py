"""daily work in the app (issue 13)

Revision ID: 0018_daily_forms
Revises: 0017_grades
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0018_daily_forms'
down_revision: str | Sequence[str] | None = '0017_grades'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
