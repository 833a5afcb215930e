"""Inputs of the maintenance and subscription-confirmation workflows and their activities.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

from typing import Any

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
    kind: str = Field(pattern="^(scheduled|started|rescheduled|completed|cancelled)$")
    at: AwareDatetime


class RescheduleInput(BaseModel):
    """New times for the window; an omitted one stays."""

    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    by: str


class HoldAlertsInput(BaseModel):
    """An Alertmanager notification for a component under maintenance, as received (webhook
    version 4, JSON). Each one carries its group's whole state, so the latest is all the
    window keeps of a group."""

    group_id: str
    payload: dict[str, Any]


class ReleaseAlertsInput(BaseModel):
    maintenance_id: str
    group_id: str
    payload: dict[str, Any]
