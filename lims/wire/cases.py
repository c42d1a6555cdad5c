"""An enforcement case on the wire (``lims case show/list --json``, the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class StepPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    at: datetime
    by: str
    details: dict[str, Any]


class CaseSummary(BaseModel):
    """A case as listed: its record, without the timeline."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    result_id: int
    sample_id: int
    vendor_id: int | None
    market_id: int | None
    commodity_id: int
    status: str
    opened_at: datetime
    opened_by: str
    objection_window_hours: float
    objection_rule: str
    result_received_at: datetime | None
    sale_suspended_at: datetime | None
    objection_at: datetime | None
    objection_accepted: bool | None
    confirmatory_result_id: int | None
    outcome: str
    disposal: str
    disposed_at: datetime | None
    notice_at: datetime | None
    closed_at: datetime | None


class CasePublic(BaseModel):
    """A case with its clock and its timeline (``lims.enforcement.cases.case_view``, ``lims case
    show``)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    result_id: int
    sample_code: str
    vendor_id: int | None
    market_id: int | None
    commodity_id: int
    opened_at: datetime
    result_received_at: datetime | None
    objection_deadline: datetime | None
    objection_window_hours: float
    objection_rule: str
    objection_accepted: bool | None
    sale_suspended_at: datetime | None
    outcome: str
    disposal: str
    notice_at: datetime | None
    closed_at: datetime | None
    steps: list[StepPublic]
