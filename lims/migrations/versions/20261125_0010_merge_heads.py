"""Merge the parallel branches of the first release into one head.

The listener, calibration, workflow, performance and security schemas were written side by side,
each on top of 0001; from here on migrations form a single line again.

Revision ID: 0010_merge
Revises: 0003_listener, 0004_calibration, 0005_workflows, 0008_perf_items, 0009_security
Create Date: 2026-11-25
"""

from collections.abc import Sequence

revision: str = "0010_merge"
down_revision: str | Sequence[str] | None = (
    "0003_listener", "0004_calibration", "0005_workflows", "0008_perf_items", "0009_security")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the merge only joins the branches."""


def downgrade() -> None:
    """Nothing to change: the merge only joins the branches."""
