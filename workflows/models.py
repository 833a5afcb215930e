"""Inputs and results of the incident workflow and its activities.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from domain.drills import DrillRun, Scenario, Step
from domain.models import (
    Actor,
    Declaration,
    Incident,
    Level,
    NotificationKind,
    Recipient,
    TimelineEvent,
)
from domain.notify import Notification
from domain.playbook import ActionPolicy, CustomerPolicy, PlaybookSet, ReviewPolicy
from domain.reviews import ActionItem
from domain.rules.effects import Notify, NotifyTarget
from domain.rules.paging import Delivery, PagerState
from domain.rules.state import IncidentState
from domain.statements import CustomerMessage, Maintenance, Stage, StatementsState

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


# --------------------------------------------------------------------------- side effects


class EffectsInput(BaseModel):
    """Everything one activation of an incident decided: the snapshot at its end, its new
    timeline events and its notifications, applied by one activity."""

    incident: Incident
    events: list[TimelineEvent] = Field(default_factory=list)
    notifications: list[Notify] = Field(default_factory=list)
    # Set when the activation changed what customers may be told (declared, level, mitigated,
    # resolved): the incident's statements workflow hears of it.
    customers: dict[Level, CustomerPolicy] | None = None


class Reached(BaseModel):
    kind: NotificationKind
    at: AwareDatetime
    recipients: list[Recipient]


class Failure(BaseModel):
    """A notification that will never be delivered: the channel refused it for good."""

    key: str
    kind: NotificationKind
    recipient: str = Field(description="a person's name, or the channel it was for")
    reason: str


class EffectsResult(BaseModel):
    reached: list[Reached] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)


# --------------------------------------------------------------------------------- paging


def pager_workflow_id(task_queue: str, recipient: Recipient) -> str:
    """One pager per person (and per deployment: each task queue has its own workers)."""
    who = f"{recipient.person.name}\n{recipient.person.slack_user_id or ''}"
    digest = hashlib.sha256(who.encode()).hexdigest()[:12]
    return f"pager-{task_queue}-{digest}"


class PagerInput(BaseModel):
    recipient: Recipient
    resume: PagerState | None = None


class PageIn(BaseModel):
    """A direct message handed to the person's pager, with the bundle window in force."""

    page: Notification
    window_seconds: float = Field(ge=0)


class DeliverInput(BaseModel):
    recipient: Recipient
    delivery: Delivery


class DeliverResult(BaseModel):
    failure: str | None = Field(default=None, description="why it can never be delivered")


# ------------------------------------------------------------------------------ statements


def statements_workflow_id(incident_id: str) -> str:
    return f"statements-{incident_id}"


def incident_of_message(message_id: str) -> str:
    """``20261123-k7qz-m3`` belongs to incident ``20261123-k7qz``."""
    incident_id, _, number = message_id.rpartition("-m")
    if not incident_id or not number.isdigit():
        raise ValueError(f"{message_id!r} is not a statement id")
    return incident_id


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
    message: CustomerMessage
    events: list[TimelineEvent] = Field(default_factory=list)


class AskInput(BaseModel):
    """Ask people to approve a draft (the communications lead, or the next tier)."""

    message: CustomerMessage
    incident: Incident
    targets: list[NotifyTarget]
    event: TimelineEvent
    key: str


class StatementEffectsInput(BaseModel):
    """One step's record writes, in order, then its approval requests."""

    records: list[RecordStatementInput] = Field(default_factory=list)
    asks: list[AskInput] = Field(default_factory=list)


class PublishInput(BaseModel):
    message: CustomerMessage
    incident: Incident


class ReportInput(BaseModel):
    """Write on the timeline where a published statement went, once its deliveries settled."""

    message: CustomerMessage
    event: TimelineEvent


# -------------------------------------------------------------------------- announcements


def confirm_workflow_id(subscriber_id: str) -> str:
    return f"confirm-{subscriber_id}"


def maintenance_workflow_id(maintenance_id: str) -> str:
    return f"maintenance-{maintenance_id}"


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


# ------------------------------------------------------------------------------- reviews


def review_workflow_id(incident_id: str) -> str:
    return f"review-{incident_id}"


def action_workflow_id(action_id: str) -> str:
    return f"action-{action_id}"


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


# -------------------------------------------------------------------------------- drills


def drill_workflow_id(run_id: str) -> str:
    return f"drill-{run_id}"


class DrillInput(BaseModel):
    run: DrillRun
    scenario: Scenario
    # Started by a Temporal Schedule: the run's id and start come from the workflow itself.
    scheduled: bool = False


class InjectInput(BaseModel):
    run_id: str
    index: int
    step: Step
    scenario: str


class DrillIncidentChanged(BaseModel):
    """A drill incident changed (acknowledged, resolved …): its drill may be over."""

    incident: Incident


class FinishInput(BaseModel):
    run_id: str
    scenario: Scenario
    at: AwareDatetime
