"""pass-rate rollup tables (issue 8), filled from the results already stored

Revision ID: 0008_perf
Revises: 0001
Create Date: 2026-11-25 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_perf"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = """
  SUM(CASE WHEN t.verdict IN ('negative','compliant') THEN 1 ELSE 0 END),
  SUM(CASE WHEN t.verdict IN ('positive','noncompliant','suspicious') THEN 1 ELSE 0 END),
  SUM(CASE WHEN t.verdict = 'invalid' THEN 1 ELSE 0 END)
"""
_COUNTED = "t.status IN ('recorded','accepted')"


def upgrade() -> None:
    op.create_table(
        "rollup_market_week",
        sa.Column("market_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("market_key", "week_start"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_rollup_market_week_week", "rollup_market_week",
                    ["week_start", "market_key"], unique=False)
    op.create_table(
        "rollup_market_day",
        sa.Column("market_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("market_key", "local_date"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_rollup_market_day_day", "rollup_market_day",
                    ["local_date", "market_key"], unique=False)
    op.create_table(
        "rollup_county_item_week",
        sa.Column("county", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("commodity_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("analyte_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("county", "week_start", "commodity_id", "analyte_key"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_rollup_county_item_week_week", "rollup_county_item_week",
                    ["week_start", "county"], unique=False)
    # results stored before this revision
    op.execute(f"""INSERT INTO rollup_market_week (market_key, week_start, passed, failed, invalid)
        SELECT COALESCE(t.market_id, 0), t.week_start, {_COUNTS} FROM test_result t
        WHERE {_COUNTED} GROUP BY COALESCE(t.market_id, 0), t.week_start""")
    op.execute(f"""INSERT INTO rollup_market_day
        (market_key, local_date, week_start, passed, failed, invalid)
        SELECT COALESCE(t.market_id, 0), t.local_date, MIN(t.week_start), {_COUNTS}
        FROM test_result t WHERE {_COUNTED} GROUP BY COALESCE(t.market_id, 0), t.local_date""")
    op.execute(f"""INSERT INTO rollup_county_item_week
        (county, week_start, commodity_id, analyte_key, passed, failed, invalid)
        SELECT COALESCE(m.county, ''), t.week_start, t.commodity_id, COALESCE(t.analyte_id, 0),
               {_COUNTS}
        FROM test_result t LEFT JOIN market m ON m.id = t.market_id WHERE {_COUNTED}
        GROUP BY COALESCE(m.county, ''), t.week_start, t.commodity_id, COALESCE(t.analyte_id, 0)""")


def downgrade() -> None:
    op.drop_index("ix_rollup_county_item_week_week", table_name="rollup_county_item_week")
    op.drop_table("rollup_county_item_week")
    op.drop_index("ix_rollup_market_day_day", table_name="rollup_market_day")
    op.drop_table("rollup_market_day")
    op.drop_index("ix_rollup_market_week_week", table_name="rollup_market_week")
    op.drop_table("rollup_market_week")
