"""province-wide commodity × analyte rollup (issue 8), filled from the county rollup

Revision ID: 0008_perf_items
Revises: 0008_perf
Create Date: 2026-11-25 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_perf_items"
down_revision: str | Sequence[str] | None = "0008_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_item_week",
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("commodity_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("analyte_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week_start", "commodity_id", "analyte_key"),
        sqlite_with_rowid=False,
    )
    op.execute("""INSERT INTO rollup_item_week
        (week_start, commodity_id, analyte_key, passed, failed, invalid)
        SELECT week_start, commodity_id, analyte_key, SUM(passed), SUM(failed), SUM(invalid)
        FROM rollup_county_item_week GROUP BY week_start, commodity_id, analyte_key""")


def downgrade() -> None:
    op.drop_table("rollup_item_week")
