"""vendor grade fixes (issue 16)

Revision ID: 0017_grades
Revises: 0016_kits
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import lims.timeutil

revision: str = '0017_grades'
down_revision: str | Sequence[str] | None = '0016_kits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # vendor_grade_history.decided_at: when the grade was decided (existing rows: their as-of
    # time); reason_zh: the reason in Chinese (``reason`` holds the English text)
    with op.batch_alter_table('vendor_grade_history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_at', lims.timeutil.TZDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('reason_zh',
                                      sqlmodel.sql.sqltypes.AutoString(length=1000),
                                      nullable=False, server_default=''))
    op.execute("UPDATE vendor_grade_history SET decided_at = computed_at")
    with op.batch_alter_table('vendor_grade_history', schema=None) as batch_op:
        batch_op.alter_column('decided_at', existing_type=lims.timeutil.TZDateTime(timezone=True),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('vendor_grade_history', schema=None) as batch_op:
        batch_op.drop_column('reason_zh')
        batch_op.drop_column('decided_at')
