"""Inputs and results of the pager workflow and its delivery activity.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models import (
    Recipient,
)
from domain.notify import Notification
from domain.rules.notify_rules import RulesState, StepDelivery, StepPlan
from domain.rules.paging import Delivery, PagerState


class PagerInput(BaseModel):
    recipient: Recipient
    resume: PagerState | None = None
    # Pagers begun under notification rules (ADR 0024) continue as new with this instead.
    resume_rules: RulesState | None = None


class PageIn(BaseModel):
    """A direct message handed to the person's pager, with the bundle window in force."""

    page: Notification
    window_seconds: float = Field(ge=0)
    # The person's notification rules when the page was handed over (no URLs); empty: Slack.
    steps: list[StepPlan] = Field(default_factory=list)


class DeliverInput(BaseModel):
    recipient: Recipient
    delivery: Delivery


class DeliverResult(BaseModel):
    failure: str | None = Field(default=None, description="why it can never be delivered")


class DeliverStepInput(BaseModel):
    recipient: Recipient
    delivery: StepDelivery


class DeliverStepResult(BaseModel):
    failure: str | None = Field(default=None, description="why the channel did not take it")
    # Pages acknowledged (or over) before this step went: they go no further.
    stopped: list[str] = Field(default_factory=list)


class StopIn(BaseModel):
    """The incident no longer waits for an acknowledgement: its pages take no further step."""

    incident_id: str
