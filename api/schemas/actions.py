"""A review's action items: adding one, closing or moving it, and how it shows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import AwareIsoDatetime, By, PersonName, Reason, RequestBody, Title
from domain.reviews import ActionItem, ActionStatus, Priority


class ActionRequest(RequestBody):
    title: Title
    owner: PersonName
    due_at: AwareIsoDatetime
    priority: Priority = Priority.MEDIUM
    by: By = None


class ActionPatch(RequestBody):
    status: ActionStatus | None = None
    reason: Reason | None = Field(default=None, description="why it will not be done")
    due_at: AwareIsoDatetime | None = None
    owner: PersonName | None = None
    by: By = None


class ActionOut(BaseModel):
    id: str
    review_id: str
    incident_id: str
    title: str
    owner: str
    due_at: datetime
    priority: Priority
    status: ActionStatus
    reason: str | None
    overdue: bool
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None

    @classmethod
    def of(cls, action: ActionItem, now: datetime) -> ActionOut:
        return cls(**action.model_dump(exclude={"version"}), overdue=action.overdue(now))


class ActionList(BaseModel):
    items: list[ActionOut]
