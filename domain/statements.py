"""What customers are told: statements drafted from templates, approved by the communications
lead, published to the status page, subscribers and key accounts (DESIGN.md §3)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from domain.models import EventKind, Incident, Status


class Stage(StrEnum):
    """Where the incident stands, as customers are told it (the common status-page stages)."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @classmethod
    def of(cls, status: Status) -> Stage:
        return {
            Status.TRIGGERED: cls.INVESTIGATING,
            Status.ACKNOWLEDGED: cls.IDENTIFIED,
            Status.MITIGATED: cls.MONITORING,
            Status.RESOLVED: cls.RESOLVED,
        }[status]


class StatementStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class Channel(StrEnum):
    STATUS_PAGE = "status_page"
    EMAIL = "email"
    WEBHOOK = "webhook"
    KEY_ACCOUNT = "key_account"
    # A drill's statements are shown here and nowhere else.
    DRILL_PREVIEW = "drill_preview"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Statement(BaseModel):
    """One statement for customers and its way from draft to published."""

    id: str = Field(description="<incident id>-m<n>")
    incident_id: str
    stage: Stage
    status: StatementStatus = StatementStatus.DRAFT
    body: str
    drill: bool = False
    due_at: AwareDatetime | None = Field(default=None, description="approve by then")
    drafted_at: AwareDatetime
    drafted_by: str
    approved_by: str | None = None
    approved_at: AwareDatetime | None = None
    rejected_by: str | None = None
    rejected_reason: str | None = None
    published_at: AwareDatetime | None = None
    # The pre-approved holding statement, published when an approval was late.
    holding: bool = False
    # A correction names the published message it replaces, which stays, superseded.
    corrects: str | None = None
    # Approval not given by ``due_at``: recorded once, as a statement breach.
    breached: bool = False
    escalations: int = 0
    version: int = 0


class Delivery(BaseModel):
    message_id: str
    channel: Channel
    target: str = Field(description="an address, a URL, an account, or the status page")
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    at: AwareDatetime | None = Field(default=None, description="last attempt")
    error: str | None = None


class Override(BaseModel):
    """The communications lead's word on a component, over what its incidents say."""

    component: str
    status: str
    reason: str
    by: str
    at: AwareDatetime


class MaintenanceStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Maintenance(BaseModel):
    id: str
    title: str
    body: str
    components: list[str]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    status: MaintenanceStatus = MaintenanceStatus.SCHEDULED
    created_by: str
    created_at: AwareDatetime
    version: int = 0
    # Firing alerts held back while the window was on; counted by the API as it holds them,
    # so saving the window's new state never resets it (see ``save_maintenance``).
    alerts_suppressed: int = 0


class StatementsState(BaseModel):
    """What an incident's statements workflow carries across continue-as-new."""

    incident: Incident
    messages: list[Statement] = Field(default_factory=list)
    # After a publication, the next update is due then (until the incident is resolved).
    next_update_due: AwareDatetime | None = None
    update_reminded: bool = False
    seq: int = 0
    # Timeline events of the statements, numbered apart from the incident's own (see
    # ``STATEMENT_SEQ``) so both can write them without coordinating.
    event_seq: int = 0


# Statement events on an incident's timeline are numbered from here: the incident workflow's
# own events stay below it, so two writers never take the same number.
STATEMENT_SEQ = 100_000


# Changes of an incident its customers may be told of: the statements workflow hears of them.
TOLD_TO_CUSTOMERS = frozenset(
    {
        EventKind.DECLARED,
        EventKind.ACKNOWLEDGED,
        EventKind.LEVEL_CHANGED,
        EventKind.MITIGATED,
        EventKind.RESOLVED,
        EventKind.REOPENED,
    }
)
