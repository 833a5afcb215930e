"""Inputs and results of the incident workflow and its activities.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from playbooks.schema import PlaybookSet
from tocsin.domain import (
    Actor,
    Function,
    Grading,
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


# An incident opened by Alertmanager is named after the start of its workflow and its alert
# group, so the workflow that owns it can be found from the id alone.
_ALERT_INCIDENT_ID = re.compile(r"^\d{8}-\d{6}-(?P<group>[a-z2-9]{8})$")


def workflow_id(incident_id: str) -> str:
    match = _ALERT_INCIDENT_ID.match(incident_id)
    if match:
        return alert_group_workflow_id(match["group"])
    return f"incident-{incident_id}"


def alert_group_workflow_id(group_id: str) -> str:
    """One workflow id per alert group: update-with-start on it can never open two incidents
    for one group, however many deliveries race."""
    return f"alerts-{group_id}"


def alert_incident_id(group_id: str, started: datetime) -> str:
    return f"{started:%Y%m%d-%H%M%S}-{group_id}"


class IncidentState(BaseModel):
    """Everything the workflow carries across continue-as-new."""

    incident: Incident
    seq: int = 0
    level_since: AwareDatetime
    next_step: int = 0
    next_repage_at: AwareDatetime | None = None
    next_reminder_at: AwareDatetime | None = None
    # Alert incidents: fingerprint -> "<status>@<startsAt>", the last delivery seen of each
    # alert, kept compact because storms bring thousands.
    alerts: dict[str, str] = Field(default_factory=dict)
    reopen_until: AwareDatetime | None = None
    opening_reported: bool = False
    mitigated_by_alerts: bool = False


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
    # Alert incidents: the id is derived from the workflow's start and this group id; the
    # request that started the workflow is told it "opened" the incident.
    alert_group: str | None = None
    alert_group_id: str | None = None
    opened_by_request: str | None = None
    grading: Grading | None = None


class AckInput(BaseModel):
    incident_id: str | None = None  # set by the client, checked against the running incident
    by: Actor


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


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertIn(BaseModel):
    """One alert of a delivery, as the workflow needs it."""

    fingerprint: str
    name: str
    status: AlertState
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    level: Level | None = Field(default=None, description="graded level, for firing alerts")
    score: float | None = None
    # Labels, annotations and link of the first alerts of each delivery, for the timeline;
    # left out beyond that so a storm of thousands stays small in the history.
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    generator_url: str | None = None

    @property
    def seen_as(self) -> str:
        return f"{self.status.value}@{self.starts_at.astimezone(UTC).isoformat()}"


class AlertBatch(BaseModel):
    """Part of one Alertmanager notification for one group (large ones come in parts)."""

    request_id: str
    alert_group: str
    external_url: str = ""
    alerts: list[AlertIn]
    # The grading of the most serious firing alert of the batch, with every factor.
    grading: Grading | None = None
    truncated_alerts: int = 0


class AlertOutcome(StrEnum):
    OPENED = "opened"
    JOINED = "joined"
    REOPENED = "reopened"
    DUPLICATE = "duplicate"


class AlertResult(BaseModel):
    incident: Incident
    outcome: AlertOutcome
    new_firing: int = 0
    new_resolved: int = 0
    duplicates: int = 0
