"""Inputs and results of the incident workflow and its activities.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from playbooks.schema import PlaybookSet
from tocsin.domain import (
    Actor,
    Function,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
    Recipient,
    Role,
    Source,
    Tier,
    TimelineEvent,
)

TASK_QUEUE = "tocsin"


def workflow_id(incident_id: str) -> str:
    return f"incident-{incident_id}"


class IncidentState(BaseModel):
    """Everything the workflow carries across continue-as-new."""

    incident: Incident
    seq: int = 0
    level_since: AwareDatetime
    next_step: int = 0
    next_repage_at: AwareDatetime | None = None
    next_reminder_at: AwareDatetime | None = None


class IncidentInput(BaseModel):
    incident_id: str
    title: str
    description: str = ""
    level: Level
    type: IncidentType
    service: str | None = None
    drill: bool = False
    source: Source = Source.MANUAL
    declared_by: Actor
    # None means "when Temporal accepted the declaration" (the workflow's start time), so a
    # worker that picks the incident up late still measures the window from that moment.
    declared_at: AwareDatetime | None = None
    playbooks: PlaybookSet
    resume: IncidentState | None = None


class AckInput(BaseModel):
    by: Actor


class ChangeLevelInput(BaseModel):
    level: Level
    reason: str = Field(min_length=1, max_length=2000)
    by: Actor


class PostUpdateInput(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    by: Actor


class MitigateInput(BaseModel):
    by: Actor
    note: str = Field(default="", max_length=10_000)


class ResolveInput(BaseModel):
    by: Actor
    summary: str = Field(default="", max_length=10_000)


class RecordInput(BaseModel):
    """A snapshot of the incident and the timeline events not yet known to be written."""

    incident: Incident
    events: list[TimelineEvent] = Field(default_factory=list)


class NotifyTarget(BaseModel):
    function: Function
    tier: Tier
    role: Role


class NotifyInput(BaseModel):
    """One notification. ``key`` is unique per incident event and notification, so a retried
    activity finds what it already sent and sends nothing twice."""

    key: str
    kind: NotificationKind
    incident: Incident
    event: TimelineEvent
    # Empty for broadcasts (STATUS), which go to the incident's own channel.
    targets: list[NotifyTarget] = Field(default_factory=list)


class NotifyResult(BaseModel):
    recipients: list[Recipient] = Field(default_factory=list)
