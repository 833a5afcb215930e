"""Inputs of the maintenance and subscription-confirmation workflows and their activities.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from domain.statements import Maintenance


class ConfirmSubscriptionInput(BaseModel):
    subscriber_id: str
    # The link's token travels to the mail through Temporal; the records keep only its hash.
    token: str


class MaintenanceInput(BaseModel):
    maintenance: Maintenance


class AnnounceInput(BaseModel):
    maintenance: Maintenance
    kind: str = Field(pattern="^(scheduled|completed|cancelled)$")
    at: AwareDatetime
