"""Inputs of the statements workflow (the customer statements of one incident), its updates
and its activities.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from domain.models import (
    Actor,
    Incident,
    Level,
    TimelineEvent,
)
from domain.playbook import CustomerPolicy
from domain.rules.effects import NotifyTarget
from domain.statements import Stage, Statement, StatementsState


class StatementsInput(BaseModel):
    incident: Incident
    policies: dict[Level, CustomerPolicy]
    resume: StatementsState | None = None


class IncidentChanged(BaseModel):
    """The incident as it is now; sent by its activities after each change that matters to
    customers (declared, level changed, mitigated, resolved)."""

    incident: Incident
    policies: dict[Level, CustomerPolicy]


class DraftInput(BaseModel):
    stage: Stage
    body: str | None = Field(default=None, max_length=5000)
    by: Actor


class ApproveInput(BaseModel):
    message_id: str
    body: str | None = Field(default=None, max_length=5000)
    by: Actor


class RejectInput(BaseModel):
    message_id: str
    reason: str = Field(min_length=1, max_length=2000)
    by: Actor


class CorrectInput(BaseModel):
    message_id: str
    body: str = Field(min_length=1, max_length=5000)
    by: Actor


class DraftBodyInput(BaseModel):
    incident: Incident
    stage: Stage
    holding: bool = False
    next_update: AwareDatetime | None = None


class RecordStatementInput(BaseModel):
    message: Statement
    events: list[TimelineEvent] = Field(default_factory=list)


class AskInput(BaseModel):
    """Ask people to approve a draft (the communications lead, or the next tier)."""

    message: Statement
    incident: Incident
    targets: list[NotifyTarget]
    event: TimelineEvent
    key: str


class StatementEffectsInput(BaseModel):
    """One step's record writes, in order, then its approval requests."""

    records: list[RecordStatementInput] = Field(default_factory=list)
    asks: list[AskInput] = Field(default_factory=list)


class PublishInput(BaseModel):
    message: Statement
    incident: Incident


class ReportInput(BaseModel):
    """Write on the timeline where a published statement went, once its deliveries settled."""

    message: Statement
    event: TimelineEvent
