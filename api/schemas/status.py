"""The status page's components (with a person's override) and scheduled maintenance."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, model_validator

from api.schemas.common import By, Reason, RequestBody, Text, Title
from api.status_page import Component
from domain.statements import MaintenanceStatus

ComponentStatus = Annotated[
    str,
    StringConstraints(
        pattern="^(operational|degraded_performance|partial_outage|major_outage|under_maintenance)$"
    ),
]


class OverrideRequest(RequestBody):
    status: ComponentStatus
    reason: Reason
    by: By = None


class OverrideOut(BaseModel):
    status: str
    reason: str
    by: str
    at: datetime


class ComponentOut(BaseModel):
    id: str
    name: str
    status: str
    override: OverrideOut | None

    @classmethod
    def of(cls, component: Component) -> ComponentOut:
        override = component.override
        return cls(
            id=component.id,
            name=component.name,
            status=component.status,
            override=None if override is None else OverrideOut(**override.model_dump()),
        )


class ComponentList(BaseModel):
    items: list[ComponentOut]


class MaintenanceRequest(RequestBody):
    title: Title
    body: Text
    components: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=50
    )
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    by: By = None

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CancelMaintenanceRequest(RequestBody):
    by: By = None


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


class MaintenanceList(BaseModel):
    items: list[MaintenanceOut]
