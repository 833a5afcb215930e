"""Request bodies and response shapes of the HTTP API.

Request bodies forbid unknown fields, so a misspelt field (``levle``) is a 422 that names it
instead of a silently ignored value.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from api.status_page import Component
from domain.access import Role
from domain.drills import CRON_PATTERN, check_cron, check_timezone
from domain.models import (
    Function,
    Grading,
    Incident,
    IncidentType,
    Level,
    PagedPerson,
    Source,
    Status,
    Tier,
    TimelineEvent,
)
from domain.reviews import (
    ActionItem,
    ActionStatus,
    Amendment,
    KeyTimes,
    Priority,
    Review,
    ReviewStatus,
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

PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")
]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"\S")
]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000, pattern=r"\S")
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]


# Who acts. A token bound to a roster person acts as them: ``by`` may be left out, and
# naming anyone else is a 403 unless the token may act for others.
By = Annotated[
    PersonName | None,
    Field(description="who acts; default: the token's person, else the token's name"),
]


def _iso_only(value: object) -> object:
    # Without this a number ("0.5") is read as seconds since 1970, which the schema's
    # date-time does not allow.
    if isinstance(value, str) and not re.match(r"^\s*\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected a date-time such as 2026-12-01T10:00:00Z")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]


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
    # Strict: lax validation took 0 and "yes" for a boolean the spec says is one (schemathesis).
    drill: StrictBool = False
    by: PersonName | None = Field(
        default=None, description="who declares it; default: the token's person, else its name"
    )


class AckRequest(_Body):
    by: By = None


class ChangeLevelRequest(_Body):
    level: Level
    reason: Reason
    by: By = None


class PostUpdateRequest(_Body):
    text: Text
    by: By = None


class MitigateRequest(_Body):
    by: By = None
    note: Note = ""


class ResolveRequest(_Body):
    by: By = None
    summary: Note = ""


class Paging(BaseModel):
    """Someone a declaration is paging."""

    name: str
    function: Function
    tier: Tier


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
        "acknowledged, mitigated (nothing is escalated any more) or closed"
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
    paging: list[Paging] | None = Field(
        default=None,
        description="in the answer to a declaration only: who it is paging, from the "
        "coordination matrix and the roster as they are now; `paged` fills in as each page "
        "is delivered",
    )
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
    by: By = None


class ApproveRequest(_Body):
    body: StatementText | None = Field(
        default=None, description="an edited text, approved instead of the draft's"
    )
    by: By = None


class RejectRequest(_Body):
    reason: Reason
    by: By = None


class CorrectRequest(_Body):
    body: StatementText
    by: By = None


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
    by: By = None

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
    by: By = None


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
    by: By = None

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CancelMaintenanceRequest(_Body):
    by: By = None


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


# ------------------------------------------------------------------------ reviews, reports

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Lines = Annotated[list[Line], Field(max_length=50)]
Query = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ReviewPatch(_Body):
    """What the owner writes; every field is optional, only the given ones change."""

    summary: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    customer_impact: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    root_cause: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    five_whys: Lines | None = Field(default=None, description="why, why, why… to the root")
    cause_category: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)] | None
    ) = None
    contributing_factors: Lines | None = None
    went_well: Lines | None = None
    went_badly: Lines | None = None
    lessons: Lines | None = None
    owner: PersonName | None = None
    status: Literal["draft", "in_review"] | None = Field(
        default=None, description="in_review: ready for others to read; publish to publish"
    )
    version: int | None = Field(
        default=None, ge=1, description="the version edited; a newer one stored is a 409"
    )
    by: By = None

    def changes(self) -> dict[str, object]:
        values = self.model_dump(exclude_none=True, exclude={"by", "version"})
        if "status" in values:
            values["status"] = ReviewStatus(values["status"])
        return values


class AmendRequest(_Body):
    summary: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    customer_impact: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    root_cause: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    five_whys: Lines | None = None
    cause_category: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)] | None
    ) = None
    contributing_factors: Lines | None = None
    went_well: Lines | None = None
    went_badly: Lines | None = None
    lessons: Lines | None = None
    reason: Reason
    by: By = None

    def changes(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True, exclude={"by", "reason"})


class PublishRequest(_Body):
    by: By = None


class ActionRequest(_Body):
    title: Title
    owner: PersonName
    due_at: AwareDatetime
    priority: Priority = Priority.MEDIUM
    by: By = None


class ActionPatch(_Body):
    status: ActionStatus | None = None
    reason: Reason | None = Field(default=None, description="why it will not be done")
    due_at: AwareDatetime | None = None
    owner: PersonName | None = None
    by: By = None


class ActionOut(BaseModel):
    id: str
    review_id: str
    incident_id: str
    title: str
    owner: str
    due_at: datetime
    priority: Priority
    status: ActionStatus
    reason: str | None
    overdue: bool
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None

    @classmethod
    def of(cls, action: ActionItem, now: datetime) -> ActionOut:
        return cls(**action.model_dump(exclude={"version"}), overdue=action.overdue(now))


class ReviewOut(BaseModel):
    id: str
    incident_id: str
    title: str
    level: Level
    type: IncidentType
    service: str | None
    drill: bool
    status: ReviewStatus
    owner: str
    due_at: datetime
    summary: str
    customer_impact: str
    root_cause: str
    five_whys: list[str]
    cause_category: str | None
    contributing_factors: list[str]
    went_well: list[str]
    went_badly: list[str]
    lessons: list[str]
    timeline: list[TimelineEvent]
    key_times: KeyTimes
    breaches: list[str]
    participants: list[str]
    action_items: list[ActionOut]
    amendments: list[Amendment]
    created_at: datetime
    submitted_at: datetime | None
    published_at: datetime | None
    published_by: str | None
    version: int

    @classmethod
    def of(cls, review: Review, actions: list[ActionItem], now: datetime) -> ReviewOut:
        return cls(
            **review.model_dump(),
            action_items=[ActionOut.of(a, now) for a in actions],
        )


class ReviewHit(BaseModel):
    id: str
    incident_id: str
    title: str
    level: Level
    service: str | None
    status: ReviewStatus
    owner: str
    due_at: datetime
    published_at: datetime | None
    root_cause: str
    rank: float | None = Field(description="how well it matches q; higher is better")


class ReviewList(BaseModel):
    items: list[ReviewHit]


class ResponseRowOut(BaseModel):
    level: Level
    month: str = Field(description="YYYY-MM of declaration, UTC")
    count: int
    acknowledged: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    within_window_ratio: float | None
    breaches: int
    statement_breaches: int
    cleared_by_alerts: int


class ResponseReport(BaseModel):
    since: datetime | None
    until: datetime | None
    drill: bool
    rows: list[ResponseRowOut]
    definitions: dict[str, str]


# ------------------------------------------------------------------------------- drills


class DrillStartRequest(_Body):
    scenario: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,40}$")]
    by: By = None


class ClassifyRequest(_Body):
    """A responder's triage of a drill incident: the level and type they judge it to be."""

    level: Level
    type: IncidentType
    by: By = None


class ClassificationOut(BaseModel):
    incident_id: str
    by: str
    level: Level
    type: IncidentType
    at: datetime


class LeadScoresRequest(_Body):
    """What only the drill's lead can judge, entered after the drill."""

    collaboration: float = Field(ge=0, le=10, description="0 to 10; the target is 8.5")
    reputation_recovery: float = Field(ge=0, le=1, description="0 to 1; the target is 0.85")
    follow_ups: list[Reason] = Field(default_factory=list, max_length=50)
    by: By = None


class ScoreOut(BaseModel):
    target: str
    value: float | None
    goal: str
    met: bool
    note: str


class DrillOut(BaseModel):
    id: str
    scenario: str
    kind: str
    status: str
    started_at: datetime
    ends_at: datetime
    finished_at: datetime | None
    started_by: str
    incidents: list[str] = Field(description="the drill's incidents, in the order of the steps")
    scores: list[ScoreOut]
    passed: bool | None = Field(description="every target met; None while the drill runs")
    collaboration: float | None
    reputation_recovery: float | None
    follow_ups: list[str]


class DrillList(BaseModel):
    drills: list[DrillOut]


class ScenarioOut(BaseModel):
    name: str
    title: str
    kind: str
    description: str
    duration_seconds: float
    steps: int
    schedule: str | None = Field(description="its default calendar (cron) and time zone")


class ScenarioList(BaseModel):
    scenarios: list[ScenarioOut]


Cron = Annotated[str, StringConstraints(pattern=CRON_PATTERN), AfterValidator(check_cron)]
# The schema lists the zones this machine knows, so a client can see what is accepted.
_ZONES = {"type": "string", "enum": sorted(zoneinfo.available_timezones())}


class ScheduleRequest(_Body):
    """Overrides of the scenario's own calendar; what is left out comes from the scenario."""

    cron: (
        Annotated[str, StringConstraints(pattern=CRON_PATTERN), AfterValidator(check_cron)] | None
    ) = Field(default=None, description="five cron fields, e.g. '0 10 1 * *'")
    timezone: Annotated[str, AfterValidator(check_timezone), WithJsonSchema(_ZONES)] | None = Field(
        default=None, description="an IANA time zone, e.g. Europe/Berlin"
    )
    jitter_seconds: int | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    by: By = None


class ScheduleActionRequest(_Body):
    by: By = None


class ScheduleOut(BaseModel):
    scenario: str
    id: str
    cron: str
    timezone: str
    jitter_seconds: float
    paused: bool
    note: str
    next_runs: list[datetime]
    recent_runs: list[datetime]
    runs_so_far: int


class ScheduleList(BaseModel):
    schedules: list[ScheduleOut]


# ------------------------------------------------------------------------------- tokens


class TokenRequest(_Body):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = Field(
        description="lower case, digits, . _ -; unique"
    )
    role: Role
    person: PersonName | None = Field(default=None, description="a roster name it acts as")
    acts_for_others: StrictBool = Field(
        default=False, description="an integration's token: may name any `by`"
    )


class TokenOut(BaseModel):
    name: str
    role: Role
    person: str | None
    acts_for_others: bool
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="shown this once; only its SHA-256 is kept")
