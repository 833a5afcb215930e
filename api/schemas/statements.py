"""Customer statements (the public URLs say ``messages``): drafting, approving, rejecting and
correcting one, and how it shows with its deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.common import By, Reason, RequestBody
from domain.statements import (
    Channel,
    Delivery,
    DeliveryStatus,
    Stage,
    Statement,
    StatementStatus,
)

StatementText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)
]


class DraftRequest(RequestBody):
    stage: Stage
    body: StatementText | None = Field(
        default=None, description="the statement; drafted from the stage's template if omitted"
    )
    by: By = None


class ApproveRequest(RequestBody):
    body: StatementText | None = Field(
        default=None, description="an edited text, approved instead of the draft's"
    )
    by: By = None


class RejectRequest(RequestBody):
    reason: Reason
    by: By = None


class CorrectRequest(RequestBody):
    body: StatementText
    by: By = None


class DeliveryOut(BaseModel):
    channel: Channel
    target: str
    status: DeliveryStatus
    attempts: int
    at: datetime | None
    error: str | None = Field(default=None, description="why the last attempt failed")


class StatementOut(BaseModel):
    id: str
    incident_id: str
    stage: Stage
    status: StatementStatus
    body: str
    drill: bool
    due_at: datetime | None
    drafted_at: datetime
    drafted_by: str
    approved_by: str | None
    approved_at: datetime | None
    rejected_by: str | None
    rejected_reason: str | None
    published_at: datetime | None
    holding: bool = Field(description="the pre-approved holding statement")
    corrects: str | None = Field(description="the published statement this one corrects")
    breached: bool = Field(description="not approved by its due time")
    deliveries: list[DeliveryOut]

    @classmethod
    def of(cls, message: Statement, deliveries: list[Delivery]) -> StatementOut:
        return cls(
            **message.model_dump(exclude={"escalations", "version"}),
            deliveries=[DeliveryOut.model_validate(d.model_dump()) for d in deliveries],
        )


class StatementList(BaseModel):
    items: list[StatementOut]
