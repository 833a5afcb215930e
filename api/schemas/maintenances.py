"""Bodies and answers of planned maintenance (``/api/v1/maintenances``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from api.schemas.common import AwareIsoDatetime, By, RequestBody, Text, Title
from domain.statements import Maintenance, MaintenanceStatus


class MaintenanceRequest(RequestBody):
    title: Title
    body: Text
    components: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=50
    )
    starts_at: AwareIsoDatetime
    ends_at: AwareIsoDatetime
    by: By = None

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CancelMaintenanceRequest(RequestBody):
    by: By = None


class MaintenancePatch(RequestBody):
    """A move: new times for a window that has not ended. A window that has begun keeps its
    start; its end may come earlier or later."""

    starts_at: AwareIsoDatetime | None = None
    ends_at: AwareIsoDatetime | None = None
    by: By = None

    @model_validator(mode="after")
    def _something(self) -> MaintenancePatch:
        if self.starts_at is None and self.ends_at is None:
            raise ValueError("give starts_at, ends_at or both")
        return self


class MaintenanceOut(BaseModel):
    id: str
    title: str
    body: str
    components: list[str]
    starts_at: datetime
    ends_at: datetime
    status: MaintenanceStatus
    created_by: str
    created_at: datetime
    alerts_suppressed: int = Field(
        description="firing alerts of its components held back while the window was on, "
        "counted per notification Alertmanager sent (a repeat counts again)"
    )

    @classmethod
    def of(cls, m: Maintenance) -> MaintenanceOut:
        return cls.model_validate(m.model_dump())


class MaintenanceList(BaseModel):
    items: list[MaintenanceOut]
