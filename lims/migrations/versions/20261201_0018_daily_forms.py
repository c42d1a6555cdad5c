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


S = sqlmodel.sql.sqltypes.AutoString
COLUMNS = (("certificate_file", 300), ("certificate_sha256", 64), ("certificate_type", 50))


def upgrade() -> None:
    # the certificate file uploaded with a calibration record (lims.metrology.attachments)
    with op.batch_alter_table('calibration_record', schema=None) as batch_op:
        for name, length in COLUMNS:
            batch_op.add_column(sa.Column(name, S(length=length), nullable=False,
                                          server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('calibration_record', schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
