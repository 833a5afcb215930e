"""The status page's components (with a person's override); maintenance windows are in
``maintenances``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from api.schemas.common import By, Reason, RequestBody
from api.status_page import Component

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
