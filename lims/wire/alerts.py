"""An alert to a grid group on the wire (``lims alerts list --json``, the API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    result_id: int
    market_id: int | None
    grid_group_id: int | None
    level: str
    raised_at: datetime
    target_minutes: float
    acknowledged_at: datetime | None
    acknowledged_by: str
    arrived_at: datetime | None
    arrived_by: str
