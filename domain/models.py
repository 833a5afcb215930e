"""The incident domain shared by workflows, activities, the records store and the API.

Everything here is plain data (pydantic models and string enums) with no I/O, so the workflow
sandbox can pass it through and the API can serialise it as it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from domain.durations import Duration, format_duration


class Level(StrEnum):
    """Incident level; A is the most serious."""

    A = "A"
    B = "B"
    C = "C"

    @property
    def rank(self) -> int:
        """3 for A, 2 for B, 1 for C: higher is more serious."""
        return {"A": 3, "B": 2, "C": 1}[self.value]

    def is_more_serious_than(self, other: Level) -> bool:
        return self.rank > other.rank


class IncidentType(StrEnum):
    SERVICE_OUTAGE = "service_outage"
    DATA_LEAK = "data_leak"
    MAJOR_PRODUCT_INCIDENT = "major_product_incident"


class Function(StrEnum):
    """A responding function of the organisation (DESIGN.md §1)."""

    TECHNICAL_SUPPORT = "technical_support"
    CUSTOMER_SERVICE = "customer_service"
    BRAND_PR = "brand_pr"
    LEADERSHIP = "leadership"


class Tier(StrEnum):
    """Who inside a function is paged, in escalation order."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    MANAGER = "manager"


class Role(StrEnum):
    """A function's part in an incident type, from the coordination matrix."""

    LEAD = "lead"
    SUPPORT = "support"
    INFORMED = "informed"


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        return self is not Status.RESOLVED


class Source(StrEnum):
    MANUAL = "manual"
    ALERTMANAGER = "alertmanager"


class EventKind(StrEnum):
    DECLARED = "declared"
    PAGED = "paged"
    ENGAGED = "engaged"
    INFORMED = "informed"
    ESCALATED = "escalated"
    BREACHED = "breached"
    REPAGED = "repaged"
    ACKNOWLEDGED = "acknowledged"
    LEVEL_CHANGED = "level_changed"
    UPDATE_POSTED = "update_posted"
    UPDATE_REMINDER = "update_reminder"
    # Every alert resolved before anyone acknowledged: the lead is asked to confirm it is over.
    CONFIRM_REQUESTED = "confirm_requested"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    ALERTS_FIRING = "alerts_firing"
    ALERTS_RESOLVED = "alerts_resolved"
    ALERTS_CLEARED = "alerts_cleared"
    REOPENED = "reopened"
    NOTIFICATION_FAILED = "notification_failed"
    # Who a schedule put on call for a page, and which shift (written by the activity).
    ON_CALL = "on_call"
    # Statements for customers (their own workflow writes these; see domain.statements).
    STATEMENT_DRAFTED = "statement_drafted"
    STATEMENT_APPROVED = "statement_approved"
    STATEMENT_REJECTED = "statement_rejected"
    STATEMENT_PUBLISHED = "statement_published"
    STATEMENT_BREACHED = "statement_breached"
    STATEMENT_ESCALATED = "statement_escalated"
    STATEMENT_CORRECTED = "statement_corrected"
    STATEMENT_DELIVERED = "statement_delivered"
    # The post-incident review and its action items (domain.reviews), after resolution.
    REVIEW_OPENED = "review_opened"
    REVIEW_REMINDED = "review_reminded"
    REVIEW_OVERDUE = "review_overdue"
    REVIEW_PUBLISHED = "review_published"
    REVIEW_AMENDED = "review_amended"
    ACTION_ADDED = "action_added"
    ACTION_REMINDED = "action_reminded"
    ACTION_OVERDUE = "action_overdue"
    ACTION_CLOSED = "action_closed"
    # A responder's triage of a drill incident (POST …/classify), scored against the scenario.
    CLASSIFIED = "classified"
    # An external partner (roster.yaml, ``partner: true``): engaged by a playbook step, late
    # past its own ``respond_within`` (its next contact is paged), acknowledged.
    PARTNER_ENGAGED = "partner_engaged"
    PARTNER_LATE = "partner_late"
    PARTNER_ACKNOWLEDGED = "partner_answered"  # kept within the CLI timeline's column


class NotificationKind(StrEnum):
    """What a notification asks of its recipients; notifiers render each differently."""

    PAGE = "page"  # must acknowledge
    ENGAGE = "engage"  # join the incident in support
    NOTICE = "notice"  # informed only
    ESCALATION = "escalation"  # an escalation step paged the next tier
    BREACH = "breach"  # the response window passed without acknowledgement
    REMINDER = "reminder"  # an internal status update is due
    STATUS = "status"  # broadcast of a change (ack, level, update, mitigated, resolved)
    APPROVAL = "approval"  # a statement for customers waits for this person's approval
    STATEMENT = "statement"  # a published statement, to a key account's manager first
    REVIEW = "review"  # a post-incident review or action item needs its owner


class Actor(BaseModel):
    """Who did something: a person by name, optionally with their Slack identity."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=200)
    slack_user_id: str | None = Field(default=None, max_length=50)


class Channel(StrEnum):
    """How a page reaches a person: Slack (or the console without a token), e-mail through
    the customer messaging's SMTP settings, or any push or SMS service Apprise speaks."""

    SLACK = "slack"
    EMAIL = "email"
    APPRISE = "apprise"


# The longest a notification rule may wait: past a day a page is no longer a page.
MAX_STEP_DELAY = timedelta(days=1)


class NotifyStep(BaseModel):
    """One step of a person's notification rules: sent ``after`` the page, only while the
    page is unacknowledged. ``url`` (Apprise only) carries the service's secrets: it is a
    ``SecretStr`` and never serialised (the pager reads it from the live roster)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    after: Duration = timedelta(0)
    url: SecretStr | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _url_for_apprise_only(self) -> NotifyStep:
        if not timedelta(0) <= self.after <= MAX_STEP_DELAY:
            raise ValueError("after: must be between 0s and 1d")
        if self.channel is Channel.APPRISE and self.url is None:
            raise ValueError("url: an apprise step needs the service's URL (ntfy://, pover://...)")
        if self.channel is not Channel.APPRISE and self.url is not None:
            raise ValueError(f"url: only an apprise step takes one, not {self.channel.value}")
        return self

    def describe(self) -> str:
        """The step as ``tocsin playbooks validate`` shows it: an Apprise URL by its scheme
        (the service) only, since the rest of it is secret."""
        when = "at once" if not self.after else f"after {format_duration(self.after)}"
        if self.url is None:
            return f"{self.channel.value} {when}"
        scheme = self.url.get_secret_value().partition("://")[0]
        return f"{self.channel.value} {scheme}://<redacted> {when}"


class Person(BaseModel):
    """Someone in the roster. ``notify`` is never serialised: it stays in the roster file,
    so an Apprise URL's secrets reach no workflow history, record or API answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    slack_user_id: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]{2,}$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    notify: tuple[NotifyStep, ...] | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _steps_named(cls, data: Any) -> Any:
        """A bad step is reported with the person's name and the step's number, and never
        with the value written (an Apprise URL is a secret)."""
        if not isinstance(data, dict) or not isinstance(data.get("notify"), list):
            return data
        who = data.get("name", "?")
        steps = []
        for number, raw in enumerate(data["notify"], start=1):
            try:
                steps.append(NotifyStep.model_validate(raw))
            except ValidationError as exc:
                first = exc.errors(include_url=False, include_input=False)[0]
                where = ".".join(str(part) for part in first["loc"])
                message = first["msg"].removeprefix("Value error, ")
                raise ValueError(
                    f"person {who!r}, notify step {number}: "
                    f"{where + ': ' if where else ''}{message}"
                ) from None
        return {**data, "notify": tuple(steps)}

    @model_validator(mode="after")
    def _steps_reachable(self) -> Person:
        steps = self.notify or ()
        for number, step in enumerate(steps, start=1):
            if step.channel is Channel.EMAIL and self.email is None:
                raise ValueError(f"person {self.name!r}, notify step {number}: email: no address")
            if number > 1 and step.after < steps[number - 2].after:
                raise ValueError(
                    f"person {self.name!r}, notify step {number}: after: steps go in order"
                )
        return self

    def rules(self) -> tuple[NotifyStep, ...]:
        """The notification rules in force: the person's own, else Slack at once (e-mail at
        once for someone with an address and no Slack ID)."""
        if self.notify:
            return self.notify
        if self.slack_user_id is None and self.email is not None:
            return (NotifyStep(channel=Channel.EMAIL),)
        return (NotifyStep(channel=Channel.SLACK),)


class Recipient(BaseModel):
    """A person resolved from the roster for one notification, with why they were chosen."""

    model_config = ConfigDict(frozen=True)

    person: Person
    function: Function
    tier: Tier
    role: Role
    # A contact of an external partner: function and tier are those of the lead it helps.
    partner: str | None = None


class PagedPerson(BaseModel):
    """A person who was reached for this incident (the live answer to "who is paged")."""

    name: str
    function: Function
    tier: Tier
    role: Role
    kind: NotificationKind
    at: AwareDatetime = Field(description="when they were last reached")
    times: int = 1
    partner: str | None = Field(default=None, description="the external partner they speak for")


class PartnerResponse(BaseModel):
    """An external partner engaged in an incident, judged against its own ``respond_within``
    (pinned when the incident began), not the incident's response window."""

    partner: str
    level: Level = Field(description="the incident's level when the partner was engaged")
    engaged_at: AwareDatetime
    respond_within_seconds: float
    due_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    late: bool = Field(default=False, description="its target passed unanswered")
    contacts_paged: int = Field(default=1, description="contacts paged so far, in order")
    next_page_at: AwareDatetime | None = Field(
        default=None, description="when its next contact is paged if still unanswered"
    )

    @property
    def within_target(self) -> bool | None:
        """Whether it answered within its target; None while the target has not judged it."""
        if self.acknowledged_at is not None:
            return self.acknowledged_at <= self.due_at and not self.late
        return False if self.late else None


class GradeFactor(BaseModel):
    """One term of the grading score: ``contribution = weight * value``."""

    name: str
    weight: float
    value: float = Field(ge=0, le=1)
    contribution: float
    basis: str = Field(description="where the value came from, for responders")


class Grading(BaseModel):
    """Why an alert-opened incident got its level (DESIGN.md §1): the score is always computed
    so responders can compare it with a ``level`` label that overrode it."""

    level: Level
    rule: str = Field(description="'label' when the alert's level label decided, else 'score'")
    score: float = Field(ge=0, le=1)
    factors: list[GradeFactor]
    thresholds: dict[str, float]
    alert: str = Field(description="the alert that was graded")
    notes: list[str] = Field(default_factory=list, description="labels ignored, and why")

    def explain(self) -> str:
        if self.rule == "label":
            return f"level {self.level} from the alert's level label (score {self.score:.2f})"
        return (
            f"level {self.level} by score {self.score:.2f} "
            f"(A from {self.thresholds['A']:.2f}, B from {self.thresholds['B']:.2f})"
        )


class Declaration(BaseModel):
    """What is said when an incident starts, by a person or by Alertmanager."""

    title: str
    description: str = ""
    level: Level
    type: IncidentType
    service: str | None = None
    drill: bool = False
    # The drill run that injected it (domain.drills), for a drill incident.
    drill_run: str | None = None
    source: Source = Source.MANUAL
    declared_by: Actor
    grading: Grading | None = None
    alert_group: str | None = Field(default=None, description="receiver and groupKey")


class Incident(BaseModel):
    """One incident as responders, the records and the API see it."""

    id: str
    title: str
    description: str = ""
    level: Level
    type: IncidentType
    service: str | None = None
    status: Status = Status.TRIGGERED
    drill: bool = False
    drill_run: str | None = None
    source: Source = Source.MANUAL
    declared_at: AwareDatetime
    declared_by: str
    ack_deadline: AwareDatetime
    response_window_seconds: float
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    # The level in force when it was acknowledged, and the level whose window it breached:
    # what the reports and metrics count them under (a level can change afterwards).
    ack_level: Level | None = None
    window_breached: bool = False
    breached_at: AwareDatetime | None = None
    breach_level: Level | None = None
    mitigated_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    resolved_by: str | None = None
    resolution_summary: str | None = None
    last_update_at: AwareDatetime | None = None
    escalation_count: int = 0
    paged: list[PagedPerson] = Field(default_factory=list)
    partners: list[PartnerResponse] = Field(default_factory=list)
    grading: Grading | None = None
    alert_group: str | None = Field(default=None, description="receiver and groupKey")
    alerts_firing: int = 0
    alerts_total: int = 0
    # Grows with every recorded change so that out-of-order writes of snapshots cannot
    # overwrite a newer one with an older one.
    version: int = 0

    @property
    def time_to_ack(self) -> timedelta | None:
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.declared_at

    @property
    def acknowledged_within_window(self) -> bool | None:
        """Whether the acknowledgement met the deadline in force when it came (that of
        ``ack_level``); a breached window is never met, even by an acknowledgement given
        before the breach and applied after it. None before any acknowledgement. The
        reports, the reviews and their exports all judge it by this one rule."""
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at <= self.ack_deadline and not self.window_breached

    def time_left(self, now: datetime) -> timedelta | None:
        """Time left to acknowledge; negative when overdue, None once acknowledged or closed,
        and None once mitigated: an incident its alerts mitigated before anyone acknowledged
        is no longer escalated (its lead is asked to confirm it instead), so it is not late."""
        if self.acknowledged_at is not None or self.status in (Status.MITIGATED, Status.RESOLVED):
            return None
        return self.ack_deadline - now


class TimelineEvent(BaseModel):
    """One line of an incident's timeline. ``seq`` is unique per incident and makes writes
    idempotent: a retried activity that writes the same event again changes nothing."""

    incident_id: str
    seq: int = Field(ge=1)
    at: AwareDatetime
    kind: EventKind
    actor: str | None = None
    text: str
    data: dict[str, Any] = Field(default_factory=dict)
