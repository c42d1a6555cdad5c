"""Pre-aggregated pass-rate rollups, kept exact (owned by the performance work, issue 8).

Any service that changes a stored result's verdict, status, market, commodity or date calls
``refresh(session=…, keys=…)`` with the (market_id, week_start) groups it touched, in the same
transaction. Until the rollup tables exist the statistics read the base table directly, and this
has nothing to refresh.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

RollupKey = tuple[int | None, date]


def refresh(*, session: Session, keys: set[RollupKey]) -> None:
    """Recompute the rollup rows of ``keys`` from the base table (no rollup tables yet)."""
    return None
