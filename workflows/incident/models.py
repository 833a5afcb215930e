"""Inputs and results of the incident workflow, its updates and its activities.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from domain.models import (
    Actor,
    Declaration,
    Incident,
    Level,
    NotificationKind,
    Recipient,
    TimelineEvent,
)
from domain.notify import Failure
from domain.playbook import CustomerPolicy, PlaybookSet
from domain.rules.effects import Notify, NotifyTarget
from domain.rules.state import IncidentState


class IncidentInput(Declaration):
    """The declaration, flat (histories of running incidents hold it so), with what the
    workflow needs besides."""

    incident_id: str
    # None means "when Temporal accepted the declaration" (the workflow's start time), so a
    # worker that picks the incident up late still measures the window from that moment.
    declared_at: AwareDatetime | None = None
    playbooks: PlaybookSet
    resume: IncidentState | None = None
    # Alert incidents: the id is derived from the workflow's start and this group id; the
    # request that started the workflow is told it "opened" the incident.
    alert_group_id: str | None = None
    opened_by_request: str | None = None

    def declaration(self) -> Declaration:
        return Declaration.model_validate(self.model_dump(include=set(Declaration.model_fields)))


class AckInput(BaseModel):
    incident_id: str | None = None  # set by the client, checked against the running incident
    by: Actor
    # When the person acted, as the API or Slack received it: the acknowledgement counts from
    # then, however long the worker took to get to it.
    acted_at: AwareDatetime | None = None


class PartnerAckInput(BaseModel):
    """An external partner's contact answered (ADR 0027)."""

    incident_id: str | None = None  # set by the client, checked against the running incident
    partner: str = Field(min_length=1, max_length=63)
    by: Actor
    acted_at: AwareDatetime | None = None


class ChangeLevelInput(BaseModel):
    incident_id: str | None = None  # set by the client, checked against the running incident
    level: Level
    reason: str = Field(min_length=1, max_length=2000)
    by: Actor


class PostUpdateInput(BaseModel):
    incident_id: str | None = None  # set by the client, checked against the running incident
    text: str = Field(min_length=1, max_length=10_000)
    by: Actor


class MitigateInput(BaseModel):
    incident_id: str | None = None  # set by the client, checked against the running incident
    by: Actor
    note: str = Field(default="", max_length=10_000)


class ResolveInput(BaseModel):
    incident_id: str | None = None  # set by the client, checked against the running incident
    by: Actor
    summary: str = Field(default="", max_length=10_000)


class RecordInput(BaseModel):
    """A snapshot of the incident and the timeline events not yet known to be written."""

    incident: Incident
    events: list[TimelineEvent] = Field(default_factory=list)


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


class EffectsInput(BaseModel):
    """Everything one activation of an incident decided: the snapshot at its end, its new
    timeline events and its notifications, applied by one activity."""

    incident: Incident
    events: list[TimelineEvent] = Field(default_factory=list)
    notifications: list[Notify] = Field(default_factory=list)
    # Set when the activation changed what customers may be told (declared, level, mitigated,
    # resolved): the incident's statements workflow hears of it.
    customers: dict[Level, CustomerPolicy] | None = None
    # ADR 0022: the activation's direct messages went to the paging queue on their own
    # (``PagesInput``); this activity only records whom they reached.
    pages_handed: bool = False


class PagesInput(BaseModel):
    """The direct messages one activation decided, handed to each person's pager ahead of
    everything else the activation does."""

    incident: Incident
    notifications: list[Notify] = Field(default_factory=list)


class PagesResult(BaseModel):
    """Direct messages Slack refused for good (sent unbundled, without a pager)."""

    failures: list[Failure] = Field(default_factory=list)


class Reached(BaseModel):
    kind: NotificationKind
    at: AwareDatetime
    recipients: list[Recipient]


class EffectsResult(BaseModel):
    reached: list[Reached] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
