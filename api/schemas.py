"""Request bodies and response shapes of the HTTP API.

Request bodies forbid unknown fields, so a misspelt field (``levle``) is a 422 that names it
instead of a silently ignored value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from api.status_page import Component
from domain.models import (
    Grading,
    Incident,
    IncidentType,
    Level,
    PagedPerson,
    Source,
    Status,
    TimelineEvent,
)
from domain.statements import (
    Channel,
    CustomerMessage,
    Delivery,
    DeliveryStatus,
    MaintenanceStatus,
    MessageStatus,
    Stage,
)

INCIDENT_ID_PATTERN = r"^[A-Za-z0-9._-]{1,100}$"

PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeclareRequest(_Body):
    title: Title
    description: Note = ""
    # No default level or type: a wrong guess would set the wrong response window and page
    # the wrong function.
    level: Level
    type: IncidentType
    service: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    drill: bool = False
    by: PersonName = Field(default="api", description="who declares the incident")


class AckRequest(_Body):
    by: PersonName


class ChangeLevelRequest(_Body):
    level: Level
    reason: Reason
    by: PersonName


class PostUpdateRequest(_Body):
    text: Text
    by: PersonName


class MitigateRequest(_Body):
    by: PersonName
    note: Note = ""


class ResolveRequest(_Body):
    by: PersonName
    summary: Note = ""


class IncidentOut(BaseModel):
    """An incident as the API shows it, with the figures a responder reads first."""

    id: str
    title: str
    description: str
    level: Level
    type: IncidentType
    service: str | None
    status: Status
    drill: bool
    source: Source
    declared_at: datetime
    declared_by: str
    ack_deadline: datetime
    response_window_seconds: float
    time_left_seconds: float | None = Field(
        description="seconds left to acknowledge; negative when overdue, null once "
        "acknowledged or closed"
    )
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    time_to_ack_seconds: float | None = Field(
        description="seconds from declaration to first acknowledgement"
    )
    window_breached: bool
    breached_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_summary: str | None
    last_update_at: datetime | None
    escalation_count: int
    paged: list[PagedPerson] = Field(description="who was reached, by function and tier")
    grading: Grading | None = Field(description="why an alert-opened incident got its level")
    alerts_firing: int
    alerts_total: int

    @classmethod
    def of(cls, incident: Incident, now: datetime) -> IncidentOut:
        left = incident.time_left(now)
        to_ack = incident.time_to_ack
        return cls(
            **incident.model_dump(exclude={"version", "alert_group"}),
            time_left_seconds=None if left is None else left.total_seconds(),
            time_to_ack_seconds=None if to_ack is None else to_ack.total_seconds(),
        )


class IncidentList(BaseModel):
    items: list[IncidentOut]
    total: int = Field(description="incidents matching the filters, ignoring limit and offset")


class Timeline(BaseModel):
    items: list[TimelineEvent]


class Ready(BaseModel):
    status: str
    checks: dict[str, str]


class GroupOut(BaseModel):
    """What one Alertmanager notification did to its group's incident."""

    receiver: str
    group_key: str
    outcome: str  # opened | joined | reopened | duplicate | ignored
    incident_id: str | None
    level: Level | None
    status: Status | None
    new_firing: int
    new_resolved: int
    duplicates: int
    grading: Grading | None


class IntakeResponse(BaseModel):
    groups: list[GroupOut]


class AcceptedOut(BaseModel):
    """A notification stored for its group's incident; the incident applies it at once."""

    receiver: str
    group_key: str
    outcome: str = Field(description="accepted, or ignored: only resolved alerts, no incident")
    workflow_id: str | None = Field(description="the group's incident workflow")
    alerts: int


class IntakeAccepted(BaseModel):
    groups: list[AcceptedOut]


# ------------------------------------------------------------------------- customer messages

StatementText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)
]


class DraftRequest(_Body):
    stage: Stage
    body: StatementText | None = Field(
        default=None, description="the statement; drafted from the stage's template if omitted"
    )
    by: PersonName


class ApproveRequest(_Body):
    body: StatementText | None = Field(
        default=None, description="an edited text, approved instead of the draft's"
    )
    by: PersonName


class RejectRequest(_Body):
    reason: Reason
    by: PersonName


class CorrectRequest(_Body):
    body: StatementText
    by: PersonName


class DeliveryOut(BaseModel):
    channel: Channel
    target: str
    status: DeliveryStatus
    attempts: int
    at: datetime | None
    error: str | None = Field(default=None, description="why the last attempt failed")


class MessageOut(BaseModel):
    id: str
    incident_id: str
    stage: Stage
    status: MessageStatus
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
    def of(cls, message: CustomerMessage, deliveries: list[Delivery]) -> MessageOut:
        return cls(
            **message.model_dump(exclude={"escalations", "version"}),
            deliveries=[DeliveryOut.model_validate(d.model_dump()) for d in deliveries],
        )


class MessageList(BaseModel):
    items: list[MessageOut]


# ------------------------------------------------------------------ subscribers, status page


class SubscribeRequest(_Body):
    email: EmailStr | None = Field(default=None, max_length=254)
    webhook_url: AnyHttpUrl | None = Field(
        default=None, description="called with each published statement, signed"
    )
    by: PersonName

    @model_validator(mode="after")
    def _one_of(self) -> SubscribeRequest:
        if (self.email is None) == (self.webhook_url is None):
            raise ValueError("give exactly one of email or webhook_url")
        return self


class SubscriberOut(BaseModel):
    id: str
    kind: str = Field(description="email | webhook")
    email: str | None
    webhook_url: str | None
    status: str = Field(description="pending | active | disabled")
    source: str = Field(description="api | public")
    created_at: datetime
    confirmed_at: datetime | None
    disabled_reason: str | None


class SubscriberCreated(SubscriberOut):
    secret: str | None = Field(
        description="a webhook's signing secret (whsec_…), shown this once and never again"
    )


ComponentStatus = Annotated[
    str,
    StringConstraints(
        pattern="^(operational|degraded_performance|partial_outage|major_outage|under_maintenance)$"
    ),
]


class OverrideRequest(_Body):
    status: ComponentStatus
    reason: Reason
    by: PersonName


class OverrideOut(BaseModel):
    status: str
    reason: str
    by: str
    at: datetime


class ComponentOut(BaseModel):
    id: str
    name: str
    status: str
    override: OverrideOut | None

    @classmethod
    def of(cls, component: Component) -> ComponentOut:
        override = component.override
        return cls(
            id=component.id,
            name=component.name,
            status=component.status,
            override=None if override is None else OverrideOut(**override.model_dump()),
        )


class MaintenanceRequest(_Body):
    title: Title
    body: Text
    components: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=50
    )
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    by: PersonName

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CancelMaintenanceRequest(_Body):
    by: PersonName


class MaintenanceOut(BaseModel):
    id: str
    title: str
    body: str
    components: list[str]
    starts_at: datetime
    ends_at: datetime
    status: MaintenanceStatus
    created_by: str
    created_at: datetime
