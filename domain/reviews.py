"""Post-incident reviews and their action items (DESIGN.md §1 review, §3 interface): every
resolved incident gets a review, prefilled from its records, written by its owner, published
into the knowledge base; each action item is followed until it is done or dropped."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from domain.models import IncidentType, Level, TimelineEvent


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    WONT_DO = "wont_do"

    @property
    def is_open(self) -> bool:
        return self is ActionStatus.OPEN


class KeyTimes(BaseModel):
    """The response's figures, from declaration (as the reports count them)."""

    declared_at: AwareDatetime
    response_window_seconds: float
    acknowledged_at: AwareDatetime | None = None
    time_to_ack_seconds: float | None = None
    acknowledged_within_window: bool | None = None
    # The level in force when it was acknowledged and the deadline it was judged against
    # (``response_window_seconds`` is the final level's window, which did not judge it).
    ack_level: Level | None = None
    ack_deadline: AwareDatetime | None = None
    breached_at: AwareDatetime | None = None
    mitigated_at: AwareDatetime | None = None
    time_to_mitigate_seconds: float | None = None
    resolved_at: AwareDatetime | None = None
    time_to_resolve_seconds: float | None = None
    first_statement_due_at: AwareDatetime | None = None
    first_statement_published_at: AwareDatetime | None = None
    first_statement_on_time: bool | None = None


class Amendment(BaseModel):
    """A change to a published review: what changed, from what, by whom and why."""

    at: AwareDatetime
    by: str
    reason: str
    changes: dict[str, dict[str, object]] = Field(
        description="field -> {before, after}", default_factory=dict
    )


# What the owner writes; everything else is prefilled or kept by tocsin.
WRITTEN_FIELDS = (
    "summary",
    "customer_impact",
    "root_cause",
    "five_whys",
    "cause_category",
    "contributing_factors",
    "went_well",
    "went_badly",
    "lessons",
)


class Review(BaseModel):
    id: str = Field(description="r-<incident id>")
    incident_id: str
    title: str
    level: Level
    type: IncidentType
    service: str | None = None
    drill: bool = False
    status: ReviewStatus = ReviewStatus.DRAFT
    owner: str
    due_at: AwareDatetime
    summary: str = ""
    customer_impact: str = ""
    root_cause: str = ""
    five_whys: list[str] = Field(default_factory=list)
    cause_category: str | None = Field(
        default=None, description="a short label for the quarterly digest, e.g. 'bad deploy'"
    )
    contributing_factors: list[str] = Field(default_factory=list)
    went_well: list[str] = Field(default_factory=list)
    went_badly: list[str] = Field(default_factory=list)
    lessons: list[str] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    key_times: KeyTimes
    breaches: list[str] = Field(default_factory=list, description="each breach, in words")
    participants: list[str] = Field(default_factory=list)
    amendments: list[Amendment] = Field(default_factory=list)
    created_at: AwareDatetime
    submitted_at: AwareDatetime | None = None
    published_at: AwareDatetime | None = None
    published_by: str | None = None
    version: int = 1


class ActionItem(BaseModel):
    id: str = Field(description="a-<hex>")
    review_id: str
    incident_id: str
    title: str
    owner: str
    due_at: AwareDatetime
    priority: Priority = Priority.MEDIUM
    status: ActionStatus = ActionStatus.OPEN
    reason: str | None = Field(default=None, description="why it was dropped (wont_do)")
    created_at: AwareDatetime
    created_by: str
    closed_at: AwareDatetime | None = None
    closed_by: str | None = None
    version: int = 1

    def overdue(self, now: datetime) -> bool:
        return self.status.is_open and self.due_at < now


def review_id(incident_id: str) -> str:
    return f"r-{incident_id}"


# Review and action-item events on an incident's timeline are numbered from here, apart
# from the incident workflow's own and the statements' (domain.statements.STATEMENT_SEQ).
REVIEW_SEQ = 200_000
