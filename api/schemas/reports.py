"""The response report: rows by level and month, with what each column counts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.models import Level


class ResponseRowOut(BaseModel):
    level: Level
    month: str = Field(description="YYYY-MM of declaration, UTC")
    count: int
    acknowledged: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    within_window_ratio: float | None
    breaches: int
    statement_breaches: int
    cleared_by_alerts: int
    partner_within_target_ratio: float | None = Field(
        description="external partners answering within their own respond_within"
    )


class ResponseReport(BaseModel):
    since: datetime | None
    until: datetime | None
    drill: bool
    items: list[ResponseRowOut] = Field(description="one row per level and month")
    definitions: dict[str, str]
