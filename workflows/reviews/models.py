"""Inputs of the review and action-item workflows and their activities.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from domain.models import (
    Incident,
)
from domain.playbook import ActionPolicy, ReviewPolicy
from domain.reviews import ActionItem
from domain.rules.effects import NotifyTarget


class ReviewInput(BaseModel):
    incident: Incident
    policy: ReviewPolicy
    # Told when the review is overdue: the incident's lead functions' primary and manager.
    leads: list[NotifyTarget]
    # The resolution's event: the review opens once the records hold the timeline up to it.
    through_seq: int = 0
    reminded: bool = False
    told: int = 0


class IncidentResolved(BaseModel):
    """The incident resolved again (it was reopened): its review's draft is refreshed."""

    incident: Incident
    through_seq: int = 0


class FollowReviewInput(BaseModel):
    review_id: str
    incident_id: str
    leads: list[NotifyTarget]
    overdue: int = Field(ge=0, description="0: the reminder before it is due")
    at: AwareDatetime = Field(description="when the workflow woke for it")


class ActionInput(BaseModel):
    action: ActionItem
    policy: ActionPolicy
    leads: list[NotifyTarget]
    reminded: bool = False
    told: int = 0


class FollowActionInput(BaseModel):
    action_id: str
    leads: list[NotifyTarget]
    overdue: int = Field(ge=0)
    at: AwareDatetime = Field(description="when the workflow woke for it")
