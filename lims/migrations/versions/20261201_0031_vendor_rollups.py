"""per-vendor rollups for coverage and weighted pass rates (issue 17), filled from the results
already stored

Revision ID: 0031_vendor_rollups
Revises: 0030_sync_parked
Create Date: 2026-12-01 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0031_vendor_rollups'
down_revision: str | Sequence[str] | None = '0030_sync_parked'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# lims.verdicts.Outcome: passes True / False / None
_COUNTS = """
  SUM(CASE WHEN t.verdict IN ('negative','compliant') THEN 1 ELSE 0 END),
  SUM(CASE WHEN t.verdict IN ('suspicious','positive','noncompliant') THEN 1 ELSE 0 END),
  SUM(CASE WHEN t.verdict = 'invalid' THEN 1 ELSE 0 END)
"""
_FROM = """FROM test_result t JOIN sample s ON s.id = t.sample_id
        WHERE t.counts AND s.vendor_id IS NOT NULL"""


def _table(name: str, period: str) -> None:
    op.create_table(
        name,
        sa.Column(period, sa.Date(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(period, "vendor_id"),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    _table("rollup_vendor_week", "week_start")
    _table("rollup_vendor_month", "month_start")
    month = ("date(t.count_date, 'start of month')" if op.get_bind().dialect.name == "sqlite"
             else "CAST(date_trunc('month', t.count_date) AS DATE)")
    op.execute(f"""INSERT INTO rollup_vendor_week (week_start, vendor_id, passed, failed, invalid)
        SELECT t.count_week, s.vendor_id, {_COUNTS} {_FROM}
        GROUP BY t.count_week, s.vendor_id""")
    op.execute(f"""INSERT INTO rollup_vendor_month
        (month_start, vendor_id, passed, failed, invalid)
        SELECT {month}, s.vendor_id, {_COUNTS} {_FROM}
        GROUP BY {month}, s.vendor_id""")


def downgrade() -> None:
    op.drop_table("rollup_vendor_month")
    op.drop_table("rollup_vendor_week")
